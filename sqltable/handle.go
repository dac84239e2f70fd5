package sqltable

import (
	"database/sql"
	"runtime"
	"sync"
	"sync/atomic"
	"weak"
)

// handle holds what Open learns about the database of a *sql.DB that
// holds for every table of it, so that the Tables opened later over the
// same *sql.DB skip the queries: a service that opens many tables pays
// for them once. See "Opening many tables" in the package documentation.
type handle struct {
	// feed is set once Open found the change feed, with the key_text
	// column of migration 3; a Table whose record of a change finds the
	// feed missing clears it.
	feed atomic.Bool

	// maxPacket is MySQL's max_allowed_packet, as the first Open read
	// it; 0 before.
	maxPacket atomic.Int64
}

// handles maps a weak pointer to each *sql.DB that Open was given to its
// *handle. An entry does not keep its *sql.DB alive: it is deleted when
// the *sql.DB is garbage-collected.
var handles sync.Map // weak.Pointer[sql.DB] → *handle

// handleOf returns the handle of q if it is a *sql.DB, or nil: over a
// transaction, a connection or another Querier, Open asks every time.
func handleOf(q Querier) *handle {
	db, ok := q.(*sql.DB)
	if !ok || db == nil {
		return nil
	}
	key := weak.Make(db)
	if h, ok := handles.Load(key); ok {
		return h.(*handle)
	}
	h, loaded := handles.LoadOrStore(key, new(handle))
	if !loaded {
		runtime.AddCleanup(db, func(key weak.Pointer[sql.DB]) { handles.Delete(key) }, key)
	}
	return h.(*handle)
}

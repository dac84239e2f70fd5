package cache

import (
	"fmt"
	"time"
)

// EventKind says what an [Event] reports.
type EventKind uint8

// The kinds of events.
const (
	// EventHit is a memo's call served from memory, or a table's Get that
	// found its entry (Duration: the read).
	EventHit EventKind = iota + 1
	// EventLoad is a memo's call served from its archive after a memory
	// miss. Duration is the archive's read (with the wait for another
	// process's lease, if any).
	EventLoad
	// EventMiss is a memo's call that ran the function (Duration: the
	// function's run; Err: its error, if it failed), or a table's Get that
	// found no entry (Duration: the read).
	EventMiss
	// EventPut is a table's write of Count entries (Duration: the write,
	// with its evictions).
	EventPut
	// EventEvict is Count entries leaving a memo's memory, or a table,
	// because of their bound. In write-back mode a memo reports it once
	// the entries are written to the archive: entries that stay in memory
	// because their write failed are not evictions.
	EventEvict
	// EventError is a failure of the cache, not of the memoized function:
	// making a key, an archive's read or write, or background work. Op
	// names what failed and Err says how; Hidden tells whether a caller
	// was given the error.
	EventError
)

var eventKindNames = [...]string{"", "hit", "load", "miss", "put", "evict", "error"}

// String returns the kind's lower-case name: hit, load, miss, put, evict or
// error.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// EventSource says which layer reports an [Event].
type EventSource uint8

// The sources of events.
const (
	SourceMemo    EventSource = iota + 1 // a [Memo]
	SourceTable                          // a table of package sqltable (or sqlarchive)
	SourceArchive                        // the background work of a sqlarchive.Archive
)

var eventSourceNames = [...]string{"", "memo", "table", "archive"}

// String returns the source's lower-case name: memo, table or archive.
func (s EventSource) String() string {
	if s > 0 && int(s) < len(eventSourceNames) {
		return eventSourceNames[s]
	}
	return fmt.Sprintf("EventSource(%d)", uint8(s))
}

// Event is what an [Observer] receives: one thing that happened in a memo,
// a table or an archive's background work.
type Event struct {
	Kind   EventKind
	Source EventSource
	// Name is the memo's name (MemoOptions.Name), or the table's
	// (sqltable.Options.EventName, by default the table's name). The
	// memos and tables of package sqlarchive take the archive's name,
	// such as "fib@v2" for the table fib__v2: a memo's events and its
	// table's carry the same Name.
	Name string
	// Op names the operation, for EventError: "key", "archive get",
	// "archive put", ..., or, in the background, "follow", "expire",
	// "flush access", "flush stats", "renew lease" and "release leases".
	Op string
	// Count is the number of entries concerned: 1 but for evictions and
	// batched writes.
	Count int
	// Duration is the time the load, the function or the statement took;
	// zero for hits from memory, evictions and errors.
	Duration time.Duration
	// Err is the error of an EventError, or of the function for an
	// EventMiss whose function failed; nil otherwise.
	Err error
	// Hidden reports, for an EventError, that no caller was given the
	// error: MemoOptions.Safe hid it, or background work met it.
	Hidden bool
}

// Observer receives the events of memos ([MemoOptions].Observer) and of
// the SQL tables and archives (the Observer of sqltable.Options and
// sqlarchive.Options), to feed metrics: the ready adapters for Prometheus
// and OpenTelemetry are the modules github.com/klepto-sql/klepto/metrics/kleptoprom
// and github.com/klepto-sql/klepto/metrics/kleptootel.
//
// Observe is called synchronously, on the goroutine of the operation, after
// it happened and outside the memo's locks, possibly by many goroutines at
// once: it must be safe for concurrent use, quick, and must not call the
// memo or table that reports. A memo whose Observer is nil does no work for
// it, and a hit from memory stays free of allocations with one.
type Observer interface {
	Observe(Event)
}

// ObserverFunc is a function that is an [Observer].
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

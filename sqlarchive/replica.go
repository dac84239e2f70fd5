package sqlarchive

import (
	"database/sql"

	"github.com/klepto-sql/klepto/sqltable"
)

// reads returns the Querier the Archive's tables read first: Options.ReadDB,
// or nil without one.
func (a *Archive) reads() sqltable.Querier {
	if a.readDB == nil {
		return nil // not a nil *sql.DB in an interface
	}
	return a.readDB
}

// feedDB returns the pool the follower reads the change feed from: the
// replica the tables read, so that a change reaches memory no sooner than
// the replica can serve the value it made (a memo reading the replica after
// an invalidation read on the primary could keep the value the change
// replaced), or db without one.
func (a *Archive) feedDB() *sql.DB {
	if a.readDB != nil {
		return a.readDB
	}
	return a.db
}

package sqltable

import (
	"database/sql"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/klepto-sql/klepto/internal/sqltest"
)

// TestHandleDropped: the same *sql.DB has one handle, which goes once the
// *sql.DB is garbage-collected, so that a process that opens and closes
// pools does not accumulate them.
func TestHandleDropped(t *testing.T) {
	key := func() weak.Pointer[sql.DB] {
		db, err := sql.Open(sqltest.SQLiteDriver(t), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if h := handleOf(db); h == nil || h != handleOf(db) {
			t.Fatalf("handleOf = %p, then %p; want one handle", h, handleOf(db))
		}
		return weak.Make(db)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := handles.Load(key); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the handle is kept 5 s after its *sql.DB went")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

package sqltable

import (
	"database/sql"
	"errors"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/go-sql-driver/mysql"
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

// TestHandleTooLarge: a write that MySQL refuses as larger than
// max_allowed_packet makes the next Open over the *sql.DB read the limit
// again, since it may have been lowered.
func TestHandleTooLarge(t *testing.T) {
	db, err := sql.Open(sqltest.SQLiteDriver(t), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := handleOf(db)
	h.maxPacket.Store(64 << 20)
	tbl := &Table[int]{handle: h}
	err = tbl.writeError(&mysql.MySQLError{Number: 1153, Message: "Got a packet bigger than 'max_allowed_packet' bytes"}, 100)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("writeError = %v, want ErrTooLarge", err)
	}
	if n := h.maxPacket.Load(); n != 0 {
		t.Fatalf("max_allowed_packet kept as %d after a packet too large; want it read again", n)
	}
}

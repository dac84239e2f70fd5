package sqltable_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// faults is an injector that fails the operations that match, a set number
// of times or, with n < 0, always. database/sql may roll back a transaction
// whose context ended on a goroutine of its own, so arm and inject may
// overlap.
type faults struct {
	mu     sync.Mutex // guards following fields
	op     sqltest.Op
	prefix string // of the query; "" matches any
	n      int64  // failures left
	err    error
	seen   atomic.Int64 // matching operations, failed or not
}

func (f *faults) inject(op sqltest.Op, query string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if op != f.op || !strings.HasPrefix(query, f.prefix) {
		return nil
	}
	f.seen.Add(1)
	if f.n < 0 {
		return f.err
	}
	if f.n > 0 {
		f.n--
		return f.err
	}
	return nil
}

// arm makes the next n matching operations fail with err.
func (f *faults) arm(op sqltest.Op, prefix string, n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.op, f.prefix, f.err = op, prefix, err
	f.n = int64(n)
	f.seen.Store(0)
}

var errBusy = sqlite3.Error{Code: sqlite3.ErrBusy}

func TestFaults(t *testing.T) {
	var f faults
	db := sqltest.Faulty(t, f.inject)
	ctx := t.Context()

	f.arm(sqltest.OpPrepare, "SELECT", 1, errors.New("prepare failed"))
	_, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: dialect.SQLite})
	wantErr(t, err, `sqltable fib: open: prepare: prepare failed`)

	f.arm(sqltest.OpExec, "", 0, nil)
	tbl, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: dialect.SQLite, Retries: 3})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("BadConn", func(t *testing.T) {
		// database/sql moves to another connection, then the Table retries.
		for _, n := range []int{1, 3, 5} {
			f.arm(sqltest.OpExec, "INSERT", n, driver.ErrBadConn)
			mustPut(t, tbl, "bad", n)
			mustGet(t, tbl, "bad", n)
			f.arm(sqltest.OpQuery, "SELECT", n, driver.ErrBadConn)
			mustGet(t, tbl, "bad", n)
		}
	})

	t.Run("Busy", func(t *testing.T) {
		f.arm(sqltest.OpExec, "INSERT", 3, errBusy)
		mustPut(t, tbl, "busy", 1)
		if got := f.seen.Load(); got != 4 {
			t.Fatalf("Put ran %d times, want 4", got)
		}
		// On SQLite, busy (another connection's write lock) is retried
		// beyond Retries, until the context ends.
		f.arm(sqltest.OpExec, "INSERT", -1, errBusy)
		dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		err := tbl.Put(dctx, keymap.NewKey("busy"), 2)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Put while busy: %v, want an error wrapping context.DeadlineExceeded", err)
		}
		if got := f.seen.Load(); got <= 4 {
			t.Fatalf("Put ran %d times, want more than 1 + 3 retries", got)
		}
		f.arm(sqltest.OpExec, "", 0, nil)
		mustGet(t, tbl, "busy", 1)
	})

	t.Run("NoRetries", func(t *testing.T) {
		once, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: dialect.SQLite, Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer once.Close()
		f.arm(sqltest.OpExec, "INSERT", 1, errBusy)
		if err := once.Put(ctx, keymap.NewKey("once"), 1); !dialect.IsBusy(err) || f.seen.Load() != 1 {
			t.Fatalf("Put = %v after %d runs, want a busy error after 1", err, f.seen.Load())
		}
	})

	t.Run("CanceledWhileWaiting", func(t *testing.T) {
		// The context ends as the first attempt fails: the Table stops
		// instead of retrying.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var attempts atomic.Int64
		db2 := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
			if op == sqltest.OpExec && strings.HasPrefix(query, "INSERT") {
				attempts.Add(1)
				cancel()
				return errBusy
			}
			return nil
		})
		tbl2, err := sqltable.Open[int](context.Background(), db2, "fib", &sqltable.Options{Dialect: dialect.SQLite})
		if err != nil {
			t.Fatal(err)
		}
		err = tbl2.Put(ctx, keymap.NewKey("canceled"), 1)
		if !errors.Is(err, context.Canceled) || !dialect.IsBusy(err) || attempts.Load() != 1 {
			t.Fatalf("Put canceled while waiting to retry: %v after %d attempts, want the busy error and context.Canceled after 1",
				err, attempts.Load())
		}
	})

	t.Run("PutManyTransaction", func(t *testing.T) {
		var batch []cache.Entry[int]
		for i := range 1200 {
			batch = append(batch, cache.Entry[int]{Key: keymap.NewKey(fmt.Sprint(i)), Value: i})
		}
		// The second statement of the first attempt fails: the whole
		// transaction is rolled back and run again.
		var execs atomic.Int64
		db3 := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
			if op == sqltest.OpExec && strings.HasPrefix(query, "INSERT") && execs.Add(1) == 2 {
				return errBusy
			}
			return nil
		})
		tbl3, err := sqltable.Open[int](ctx, db3, "many", &sqltable.Options{Dialect: dialect.SQLite})
		if err != nil {
			t.Fatal(err)
		}
		if err := tbl3.PutMany(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if got := execs.Load(); got != 2+3 {
			t.Fatalf("%d statements ran, want 2 (failed attempt) + 3", got)
		}
		mustLen(t, tbl3, 1200)

		// A commit that always fails stores nothing.
		f.arm(sqltest.OpCommit, "", -1, errBusy)
		dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		err = tbl.PutMany(dctx, batch)
		if !errors.Is(err, context.DeadlineExceeded) || f.seen.Load() <= 4 {
			t.Fatalf("PutMany = %v after %d commits, want an error wrapping context.DeadlineExceeded after more than 4", err, f.seen.Load())
		}
		f.arm(sqltest.OpCommit, "", 0, nil)
		mustMiss(t, tbl, "7")
	})

	t.Run("PopNotRepeated", func(t *testing.T) {
		mustPut(t, tbl, "pop", 1)
		// A commit whose fate is unknown is not repeated: the value may be
		// gone already.
		f.arm(sqltest.OpCommit, "", 1, driver.ErrBadConn)
		if _, _, err := tbl.Pop(ctx, keymap.NewKey("pop")); err == nil || f.seen.Load() != 1 {
			t.Fatalf("Pop = %v after %d commits, want an error after 1", err, f.seen.Load())
		}
		f.arm(sqltest.OpCommit, "", 1, errBusy)
		if v, found, err := tbl.Pop(ctx, keymap.NewKey("pop")); v != 1 || !found || err != nil {
			t.Fatalf("Pop after a busy commit = %v, %v, %v", v, found, err)
		}
	})

	t.Run("TooBig", func(t *testing.T) {
		f.arm(sqltest.OpExec, "INSERT", 1, sqlite3.Error{Code: sqlite3.ErrTooBig})
		err := tbl.Put(ctx, keymap.NewKey("big"), 12345)
		if !errors.Is(err, sqltable.ErrTooLarge) {
			t.Fatalf("Put = %v, want ErrTooLarge", err)
		}
		wantErr(t, err, `sqltable fib: put "big": entry too large for the database (value 5 bytes)`)
		var serr sqlite3.Error
		if !errors.As(err, &serr) || serr.Code != sqlite3.ErrTooBig {
			t.Fatalf("the driver's error is not wrapped: %v", err)
		}
	})
}

// TestConnectionLost ends the sessions of a pool from another one: the next
// calls succeed on new connections, without reopening anything.
func TestConnectionLost(t *testing.T) {
	for _, d := range []*dialect.Dialect{dialect.Postgres, dialect.MySQL} {
		t.Run(d.Name(), func(t *testing.T) {
			ctx := t.Context()
			db := sqltest.Open(t, d)
			admin := sqltest.Open(t, d)
			tbl := open[int](t, db, d, nil)
			mustPut(t, tbl, "before", 1)

			const conns = 4
			db.SetMaxIdleConns(conns)
			var ids []int64
			var held []*sql.Conn
			for range conns {
				c, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
				ids = append(ids, sessionID(t, c, d))
			}
			for _, c := range held {
				c.Close() // back to the pool, idle
			}
			for _, id := range ids {
				if d == dialect.MySQL {
					exec(t, admin, d, fmt.Sprintf("KILL CONNECTION %d", id))
				} else {
					var ok bool
					if err := admin.QueryRowContext(ctx, "SELECT pg_terminate_backend($1)", id).Scan(&ok); err != nil || !ok {
						t.Fatalf("pg_terminate_backend(%d) = %v, %v", id, ok, err)
					}
				}
			}

			mustGet(t, tbl, "before", 1)
			mustPut(t, tbl, "after", 2)
			var batch []cache.Entry[int]
			for i := range 1200 {
				batch = append(batch, cache.Entry[int]{Key: keymap.NewKey(fmt.Sprint(i)), Value: i})
			}
			if err := tbl.PutMany(ctx, batch); err != nil {
				t.Fatal(err)
			}
			mustLen(t, tbl, 1202)
			if err := tbl.Delete(ctx, keymap.NewKey("after")); err != nil {
				t.Fatal(err)
			}
			mustMiss(t, tbl, "after")

			// The pool now holds new sessions only.
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if id := sessionID(t, c, d); slices.Contains(ids, id) {
				t.Fatalf("session %d survived; the test ended none", id)
			}
		})
	}
}

// sessionID returns the server's id of the session of c.
func sessionID(t *testing.T, c *sql.Conn, d *dialect.Dialect) int64 {
	t.Helper()
	query := "SELECT pg_backend_pid()"
	if d == dialect.MySQL {
		query = "SELECT CONNECTION_ID()"
	}
	var id int64
	if err := c.QueryRowContext(t.Context(), query).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

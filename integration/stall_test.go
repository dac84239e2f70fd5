package integration

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// lockDeadline is the deadline of the calls that meet a lock or a stall,
// and lockSlack how much longer they may take to return.
const (
	lockDeadline = 500 * time.Millisecond
	lockSlack    = time.Second
)

// openSQLiteDSN opens a pool on dsn, closed when the test ends.
func openSQLiteDSN(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// A call on SQLite waits for another connection's write lock only as long
// as its context allows: with a 500 ms deadline, Put, a memoized call, the
// creation of a table and, when the lock keeps readers out, Get return soon
// after the deadline with an error wrapping context.DeadlineExceeded,
// although SQLite's busy handler does not see the context. Once the lock
// is released the same calls succeed, and a call without a deadline waits
// for the lock longer than busy_timeout.
func TestSQLiteLockHonoursDeadline(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dsn     func(path string) string
		begin   string // the statement that takes the lock
		readers bool   // whether the lock keeps readers out
	}{
		// WAL, as dialect.SQLiteDSN: readers never wait for the writer.
		{"wal", dialect.SQLiteDSN, "BEGIN IMMEDIATE", false},
		// A rollback journal, whose exclusive lock keeps readers out.
		{"rollback journal", func(path string) string {
			return "file:" + path + "?_journal_mode=DELETE&_busy_timeout=100&_txlock=immediate"
		}, "BEGIN EXCLUSIVE", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			dsn := tc.dsn(filepath.Join(t.TempDir(), "cache.db"))
			// Two pools on one file stand for two processes.
			app := openSQLiteDSN(t, dsn)
			other := openSQLiteDSN(t, dsn)

			a, err := sqlarchive.Open(ctx, app, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.Close() })
			kv, err := sqltable.Open[int](ctx, app, "kv", nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = kv.Close() })
			sq, err := sqlarchive.Memoize(ctx, a, "sq", func(_ context.Context, n int) (int, error) { return n * n, nil }, nil)
			if err != nil {
				t.Fatal(err)
			}
			k1, k2 := keymap.NewKey("1"), keymap.NewKey("2")
			if err := kv.Put(ctx, k1, 1); err != nil {
				t.Fatal(err)
			}

			// lock makes other hold the write lock until the returned
			// func is called.
			lock := func() (unlock func() error) {
				t.Helper()
				conn, err := other.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.ExecContext(ctx, tc.begin); err != nil {
					t.Fatal(err)
				}
				return func() error {
					_, err := conn.ExecContext(context.WithoutCancel(ctx), "COMMIT")
					return errors.Join(err, conn.Close())
				}
			}
			calls := []struct {
				name   string
				reader bool
				call   func(ctx context.Context) error
			}{
				{"put", false, func(ctx context.Context) error { return kv.Put(ctx, k2, 2) }},
				{"memoized call", false, func(ctx context.Context) error {
					got, err := sq.Call(ctx, 3)
					if err == nil && got != 9 {
						return errors.New("wrong result")
					}
					return err
				}},
				{"create table", false, func(ctx context.Context) error {
					t, err := sqltable.Open[int](ctx, app, "created", nil)
					if err == nil {
						err = t.Close()
					}
					return err
				}},
				{"get", true, func(ctx context.Context) error {
					got, found, err := kv.Get(ctx, k1)
					if err == nil && (!found || got != 1) {
						return errors.New("wrong result")
					}
					return err
				}},
			}
			unlock := lock()
			for _, c := range calls {
				cctx, cancel := context.WithTimeout(ctx, lockDeadline)
				start := time.Now()
				err := c.call(cctx)
				elapsed := time.Since(start)
				cancel()
				t.Logf("%s while locked: %v after %v", c.name, err, elapsed.Round(time.Millisecond))
				if c.reader && !tc.readers {
					if err != nil {
						t.Errorf("%s while locked: %v, want no error: readers do not wait in WAL mode", c.name, err)
					}
					continue
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s while locked: %v, want an error wrapping context.DeadlineExceeded", c.name, err)
				}
				if elapsed > lockDeadline+lockSlack {
					t.Errorf("%s while locked returned after %v, with a deadline of %v", c.name, elapsed, lockDeadline)
				}
			}
			if err := unlock(); err != nil {
				t.Fatal(err)
			}
			for _, c := range calls {
				cctx, cancel := context.WithTimeout(ctx, lockDeadline)
				if err := c.call(cctx); err != nil {
					t.Errorf("%s after the lock was released: %v", c.name, err)
				}
				cancel()
			}

			// Without a deadline, a call waits for the lock beyond
			// busy_timeout.
			const held = 700 * time.Millisecond
			unlock = lock()
			unlocked := make(chan error, 1)
			time.AfterFunc(held, func() { unlocked <- unlock() })
			start := time.Now()
			err = kv.Put(ctx, k2, 4)
			if uerr := <-unlocked; uerr != nil {
				t.Fatal(uerr)
			}
			if err != nil {
				t.Fatalf("put while locked for %v: %v", held, err)
			}
			if elapsed := time.Since(start); elapsed < held-100*time.Millisecond {
				t.Errorf("put returned after %v, with the lock held for %v", elapsed, held)
			}
			if got, _, err := kv.Get(ctx, k2); err != nil || got != 4 {
				t.Errorf("get after the put = %d, %v; want 4", got, err)
			}
		})
	}
}

package integration

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqlarchive/pqconn"
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
			if _, err := sq.Call(ctx, 2); err != nil {
				t.Fatal(err)
			}
			var dump bytes.Buffer
			if _, err := sqlarchive.Dump(ctx, a, "sq", &dump, nil); err != nil {
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
				{"create archive", false, func(ctx context.Context) error {
					_, err := sqlarchive.Table[int](ctx, a, "archived", nil)
					return err
				}},
				{"load", false, func(ctx context.Context) error {
					_, err := sqlarchive.Load(ctx, a, "sq", bytes.NewReader(dump.Bytes()), nil)
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

// Without a deadline, a call on SQLite waits 5 s for another connection's
// write lock, then fails with a busy error.
func TestSQLiteLockWaitWithoutDeadline(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cache.db")
	app := openSQLiteDSN(t, dialect.SQLiteDSN(path))
	other := openSQLiteDSN(t, dialect.SQLiteDSN(path))
	kv, err := sqltable.Open[int](ctx, app, "kv", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kv.Close() })
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = kv.Put(ctx, keymap.NewKey("1"), 1)
	elapsed := time.Since(start)
	if !dialect.IsBusy(err) {
		t.Errorf("put while locked: %v, want a busy error", err)
	}
	if elapsed < 5*time.Second || elapsed > 5*time.Second+lockSlack {
		t.Errorf("put while locked failed after %v, want 5 s", elapsed)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
}

// stallDeadline is the deadline of the calls during a stall of the
// network, stallSlack how much longer they may take, and stallFor how long
// the stall lasts.
const (
	stallDeadline = time.Second
	stallSlack    = time.Second
	stallFor      = 5 * time.Second
	stallPool     = 4 // SetMaxOpenConns
)

// servicePool opens a pool on the database of db through proxy, with the
// settings that the section "Timeouts and pools" of package sqlarchive
// gives, and returns it with a query that counts the server's connections
// of that pool.
func servicePool(t *testing.T, db sqltest.Database, proxy func(target string) string) (*sql.DB, string) {
	t.Helper()
	var (
		pool  *sql.DB
		count string
	)
	switch db.Dialect {
	case dialect.Postgres:
		u, err := url.Parse(db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = proxy(u.Host)
		app := "stall_" + db.Name
		q := u.Query()
		q.Set("connect_timeout", "1")
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
		c, err := pqconn.NewConnector(u.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		pool = sql.OpenDB(c)
		count = `SELECT count(*) FROM pg_stat_activity WHERE application_name = '` + app + `'`
	case dialect.MySQL:
		cfg, err := mysql.ParseDSN(db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Addr = proxy(cfg.Addr)
		cfg.Timeout = time.Second
		cfg.ReadTimeout = 2 * stallDeadline
		cfg.WriteTimeout = 2 * stallDeadline
		connector, err := mysql.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		pool = sql.OpenDB(connector)
		count = `SELECT count(*) FROM information_schema.processlist WHERE db = '` + db.Name + `' AND id <> CONNECTION_ID()`
	}
	t.Cleanup(func() { _ = pool.Close() })
	pool.SetMaxOpenConns(stallPool)
	pool.SetMaxIdleConns(stallPool)
	pool.SetConnMaxIdleTime(time.Minute)
	return pool, count
}

// During a stall of the network between a service and its database
// server, calls with a deadline return soon after it, the server sees no
// more connections than the pool holds (and those the stall left behind),
// and calls succeed again soon after the stall ends: with the pool
// settings of the section "Timeouts and pools" of package sqlarchive.
func TestServerStallHonoursDeadline(t *testing.T) {
	for _, d := range []*dialect.Dialect{dialect.Postgres, dialect.MySQL} {
		t.Run(d.Name(), func(t *testing.T) {
			ctx := t.Context()
			db := sqltest.Fresh(t, d)
			var proxy *sqltest.Proxy
			pool, countQuery := servicePool(t, db, func(target string) string {
				proxy = sqltest.NewProxy(t, target)
				return proxy.Addr()
			})
			a, err := sqlarchive.Open(ctx, pool, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.Close() })
			kv, err := sqlarchive.Table[int](ctx, a, "kv", nil)
			if err != nil {
				t.Fatal(err)
			}
			sq, err := sqlarchive.Memoize(ctx, a, "sq", func(_ context.Context, n int) (int, error) { return n * n, nil }, nil)
			if err != nil {
				t.Fatal(err)
			}
			var next atomic.Int64
			call := func(ctx context.Context, i int64) error {
				ctx, cancel := context.WithTimeout(ctx, stallDeadline)
				defer cancel()
				key := keymap.NewKey(strconv.FormatInt(i, 10))
				switch i % 3 {
				case 0:
					return kv.Put(ctx, key, int(i))
				case 1:
					_, _, err := kv.Get(ctx, key)
					return err
				default:
					_, err := sq.Call(ctx, int(i))
					return err
				}
			}
			for range 3 * stallPool {
				if err := call(ctx, next.Add(1)); err != nil {
					t.Fatal(err)
				}
			}

			// The server's connections of the pool, counted on a
			// connection of its own.
			var maxConns atomic.Int64
			sampling, stopSampling := context.WithCancel(ctx)
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for sampling.Err() == nil {
					var n int64
					if err := db.DB.QueryRowContext(sampling, countQuery).Scan(&n); err == nil && n > maxConns.Load() {
						maxConns.Store(n)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()

			proxy.Stall()
			stallEnd := time.Now().Add(stallFor)
			// The stall ends on time, whether or not the calls return.
			resumedC := make(chan time.Time, 1)
			time.AfterFunc(stallFor, func() {
				resumedC <- time.Now()
				proxy.Resume()
			})
			var (
				mu      sync.Mutex
				slowest time.Duration
				calls   int
				failed  int
				wg      sync.WaitGroup
			)
			for range 2 * stallPool {
				wg.Go(func() {
					for time.Now().Before(stallEnd) {
						start := time.Now()
						err := call(ctx, next.Add(1))
						elapsed := time.Since(start)
						mu.Lock()
						calls++
						slowest = max(slowest, elapsed)
						if err != nil {
							failed++
						}
						mu.Unlock()
						if elapsed > stallDeadline+stallSlack {
							t.Errorf("a call with a deadline of %v returned after %v during the stall: %v", stallDeadline, elapsed, err)
						}
					}
				})
			}
			wg.Wait()
			resumed := <-resumedC
			t.Logf("during the stall of %v: %d calls, %d failed, the slowest returned after %v", stallFor, calls, failed, slowest.Round(time.Millisecond))

			// Calls succeed again soon.
			var recovered time.Duration
			for {
				err := call(ctx, next.Add(1))
				if err == nil {
					recovered = time.Since(resumed)
					break
				}
				if time.Since(resumed) > 10*time.Second {
					t.Fatalf("calls still fail 10 s after the stall: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			for range 3 * stallPool {
				if err := call(ctx, next.Add(1)); err != nil {
					t.Errorf("a call after the stall: %v", err)
				}
			}
			time.Sleep(500 * time.Millisecond)
			stopSampling()
			<-sampled
			t.Logf("calls succeeded again %v after the stall; the server had at most %d connections of the pool; the proxy accepted %d connections and opened %d to the server",
				recovered.Round(time.Millisecond), maxConns.Load(), proxy.Accepts(), proxy.Dials())
			if recovered > 2*time.Second {
				t.Errorf("calls succeeded again only %v after the stall", recovered)
			}
			if n := maxConns.Load(); n > 2*stallPool {
				t.Errorf("the server had %d connections of a pool of %d", n, stallPool)
			}
		})
	}
}

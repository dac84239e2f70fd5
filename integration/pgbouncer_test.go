package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/klepto-sql/klepto/archive/archivetest"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// The tests of this file run through PgBouncer in transaction pooling mode
// (KLEPTO_TEST_PGBOUNCER_DSN; integration/topology/pgbouncer.sh starts one),
// where consecutive transactions of one client connection may run on
// different server connections: no session state, and no prepared
// statement, outlives a transaction. The archives are opened with
// NoPrepare, and the drivers with the DSN parameter that sqltest.PgBouncerDSN
// sets: binary_parameters=yes for lib/pq, default_query_exec_mode=exec for
// pgx.

// pgbouncerDrivers are the drivers the tests run through PgBouncer with.
var pgbouncerDrivers = []string{"postgres", "pgx"}

// The archive conformance suite passes through PgBouncer, on a sqltable
// Table and on a table of a sqlarchive Archive (whose Open migrates the
// database through the pooler), with lib/pq and with pgx (in its modes exec
// and simple_protocol), and so do 16 goroutines writing and reading
// one table and memoizing shared keys at once, on a pool of as many
// connections.
func TestPgBouncerArchive(t *testing.T) {
	for _, driver := range pgbouncerDrivers {
		t.Run(driver, func(t *testing.T) {
			db := sqltest.PgBouncerWith(t, driver)
			ctx := t.Context()
			n := 0
			t.Run("sqltable", func(t *testing.T) {
				archivetest.Run(t, func(t *testing.T) cache.Archive[int] {
					n++
					tbl, err := sqltable.Open[int](ctx, db.DB, fmt.Sprintf("conf_%d", n), &sqltable.Options{NoPrepare: true})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = tbl.Close() })
					return tbl
				}, func(i int) int { return i*7 + 1 })
			})
			a, err := sqlarchive.Open(ctx, db.DB, &sqlarchive.Options{NoPrepare: true, PollInterval: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.Close() })
			t.Run("sqlarchive", func(t *testing.T) {
				archivetest.Run(t, func(t *testing.T) cache.Archive[int] {
					n++
					tbl, err := sqlarchive.Table[int](ctx, a, fmt.Sprintf("conf_%d", n), nil)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = tbl.Close() })
					return tbl
				}, func(i int) int { return i*7 + 1 })
			})
			t.Run("Concurrent", func(t *testing.T) {
				pgbouncerConcurrent(t, a, "concurrent")
			})
			if driver != "pgx" {
				return
			}
			// pgx's other mode that prepares no named statement.
			t.Run("simple_protocol", func(t *testing.T) {
				dsn := strings.Replace(db.DSN, "default_query_exec_mode=exec", "default_query_exec_mode=simple_protocol", 1)
				pool, err := sql.Open("pgx", dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer pool.Close()
				a, err := sqlarchive.Open(ctx, pool, &sqlarchive.Options{NoPrepare: true, PollInterval: 50 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				defer a.Close()
				archivetest.Run(t, func(t *testing.T) cache.Archive[int] {
					n++
					tbl, err := sqlarchive.Table[int](ctx, a, fmt.Sprintf("conf_%d", n), nil)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = tbl.Close() })
					return tbl
				}, func(i int) int { return i*7 + 1 })
				pgbouncerConcurrent(t, a, "simple")
			})
		})
	}
}

// pgbouncerConcurrent runs 16 goroutines that each put, get, put many and
// get many keys of the table name of a, and call a memo of a on shared keys:
// no call fails and every value is right.
func pgbouncerConcurrent(t *testing.T, a *sqlarchive.Archive, name string) {
	const goroutines, rounds, keys = 16, 40, 50
	ctx := t.Context()
	tbl, err := sqlarchive.Table[int](ctx, a, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	var mu sync.Mutex
	runs := make(map[int]int)
	m, err := sqlarchive.Memoize(ctx, a, name+"_sq", func(_ context.Context, x sqArgs) (int, error) {
		mu.Lock()
		runs[x.N]++
		mu.Unlock()
		return square(x.N), nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			errs <- pgbouncerWorker(ctx, tbl, m, g, rounds, keys)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for n := range keys {
		if runs[n] != 1 {
			t.Errorf("the memoized function ran %d times for key %d, want once", runs[n], n)
		}
	}
}

// pgbouncerWorker is one goroutine of pgbouncerConcurrent.
func pgbouncerWorker(ctx context.Context, tbl *sqltable.Table[int], m *cache.Memo[sqArgs, int], g, rounds, keys int) error {
	key := func(i int) keymap.Key { return keymap.NewKey(fmt.Sprintf("g%d/%d", g, i)) }
	for i := range rounds {
		if err := tbl.Put(ctx, key(i), g*1000+i); err != nil {
			return fmt.Errorf("goroutine %d: %w", g, err)
		}
		if v, ok, err := tbl.Get(ctx, key(i)); err != nil || !ok || v != g*1000+i {
			return fmt.Errorf("goroutine %d: Get = %d, %v, %v; want %d", g, v, ok, err, g*1000+i)
		}
		batch := []cache.Entry[int]{{Key: key(rounds + 3*i), Value: i}, {Key: key(rounds + 3*i + 1), Value: i}, {Key: key(rounds + 3*i + 2), Value: i}}
		if err := tbl.PutMany(ctx, batch); err != nil {
			return fmt.Errorf("goroutine %d: PutMany: %w", g, err)
		}
		got, err := tbl.GetMany(ctx, []keymap.Key{batch[0].Key, batch[1].Key, batch[2].Key})
		if err != nil || len(got) != 3 {
			return fmt.Errorf("goroutine %d: GetMany = %d values, %v; want 3", g, len(got), err)
		}
		n := (g*7 + i) % keys
		if v, err := m.Call(ctx, sqArgs{n}); err != nil || v != square(n) {
			return fmt.Errorf("goroutine %d: memo call of %d = %d, %v; want %d", g, n, v, err, square(n))
		}
	}
	return nil
}

// Without NoPrepare, a Table prepares its statements on one client
// connection, under names of that connection (lib/pq's "1", "2", …), and
// PgBouncer runs them on whichever server connection is free: a second
// pool's Table, preparing the same names, finds them taken on the server
// connection they share. With NoPrepare, both open.
func TestPgBouncerPrepared(t *testing.T) {
	db := sqltest.PgBouncerWith(t, "postgres")
	ctx := t.Context()
	other, err := sql.Open(db.Driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var errs []error
	for i, pool := range []*sql.DB{db.DB, other, db.DB, other} {
		tbl, err := sqltable.Open[int](ctx, pool, fmt.Sprintf("prepared_%d", i), nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		defer tbl.Close()
	}
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "prepared statement") {
		t.Errorf("Tables that prepare statements on two pools through PgBouncer opened with errors %v, want an error about a prepared statement", errs)
	}
	for i, pool := range []*sql.DB{db.DB, other, db.DB, other} {
		tbl, err := sqltable.Open[int](ctx, pool, fmt.Sprintf("unprepared_%d", i), &sqltable.Options{NoPrepare: true})
		if err != nil {
			t.Fatalf("with NoPrepare: %v", err)
		}
		defer tbl.Close()
	}
}

// pgbouncerServe returns the configuration of a memo server on db through
// PgBouncer: NoPrepare, and a poll interval of 100 ms.
func pgbouncerServe(db sqltest.Database, archive string) serveConfig {
	cfg := serveConfigOf(db, archive)
	cfg.NoPrepare, cfg.PollInterval = true, 100*time.Millisecond
	return cfg
}

// Four processes memoize the same 300 keys through PgBouncer, in orders of
// their own: each key is computed once, and no call fails or returns a
// wrong value. The leases' statements stand alone, so transaction pooling
// does not break them.
func TestPgBouncerMemoizeProcesses(t *testing.T) {
	const procs, keys = 4, 300
	db := sqltest.PgBouncer(t)
	cfg := pgbouncerServe(db, "shared")
	cfg.Work = 2 * time.Millisecond
	cfgs := make([]serveConfig, procs)
	for i := range cfgs {
		cfgs[i] = cfg
	}
	servers := startServers(t, cfgs...)
	walks := walkKeys(servers, keys, true, 2)
	computed, runs := tallyRuns(t, walks, func(i int) string { return fmt.Sprintf("process %d", i) })
	t.Logf("%d processes × %d keys through PgBouncer ran the function %d times", procs, keys, runs)
	for n := range keys {
		if computed[n] != 1 {
			t.Errorf("key %d was computed %d times, want once", n, computed[n])
		}
	}
}

// A change that one process makes through PgBouncer reaches the memory of
// another process through the change feed, polled: with no Listener, with
// a Listener through PgBouncer, which cannot keep LISTEN in transaction
// mode, so that only polling carries the change, and with a Listener on a
// direct connection to PostgreSQL, which is notified at once.
func TestPgBouncerFeed(t *testing.T) {
	const pollInterval = 500 * time.Millisecond
	db := sqltest.PgBouncer(t)
	direct := directDSN(t, db)
	for _, c := range []struct {
		name   string
		listen string
		bound  time.Duration
	}{
		{"polling", "", pollInterval + 2*time.Second},
		{"listener through PgBouncer", db.DSN, pollInterval + 2*time.Second},
		{"listener on a direct connection", direct, pollInterval / 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			archive := strings.ToLower(strings.ReplaceAll(c.name, " ", "_"))
			follower := pgbouncerServe(db, archive)
			follower.PollInterval, follower.ListenDSN = pollInterval, c.listen
			servers := startServers(t, follower, pgbouncerServe(db, archive))
			b, a := servers[0], libChanger{servers[1]}
			if c.listen == direct {
				deadline := time.Now().Add(10 * time.Second)
				for !b.info().Follow.Listening {
					if time.Now().After(deadline) {
						t.Fatalf("the follower is not listening after 10 s: %+v", b.info().Follow)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			const n = 3
			for round := range 3 {
				if r := b.call(n); !r.Memory {
					b.call(n)
				}
				gone := b.send(request{Op: "await", N: n, Timeout: 30 * time.Second})
				gone.waitArmed()
				value := -(round + 1)
				committed := a.put(n, value)
				g := gone.wait()
				if g.Err != "" {
					t.Fatalf("round %d: %s", round, g.Err)
				}
				latency := unixTime(g.At).Sub(committed)
				t.Logf("round %d: the key left the other process's memory %v after the commit", round, latency.Round(time.Millisecond))
				if latency > c.bound {
					t.Errorf("round %d: the key left memory %v after the commit, want within %v", round, latency, c.bound)
				}
				if r := b.call(n); r.Value != value {
					t.Errorf("round %d: the other process's call = %+v, want %d", round, r, value)
				}
			}
			// Through the pooler, LISTEN ran on a server connection that
			// the listener no longer has: no notification reaches it.
			switch notes := b.info().Follow.Notifications; {
			case c.listen == db.DSN && notes != 0:
				t.Errorf("the listener through PgBouncer received %d notifications, want none", notes)
			case c.listen == direct && notes == 0:
				t.Errorf("the listener on a direct connection received no notification")
			}
		})
	}
}

// directDSN returns the lib/pq URL of db's database on the PostgreSQL
// server of KLEPTO_TEST_POSTGRES_DSN, without PgBouncer. If that DSN is not a
// URL, the test skips, or fails under KLEPTO_TEST_REQUIRE_DBS=1.
func directDSN(t *testing.T, db sqltest.Database) string {
	t.Helper()
	pg := sqltest.Fresh(t, dialect.Postgres) // skips or fails without the variable
	u, err := url.Parse(pg.DSN)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		msg := fmt.Sprintf("%s is not a postgres:// URL: the test cannot name another database on its server", sqltest.PostgresEnv)
		if v := os.Getenv(sqltest.RequireEnv); v != "" && v != "0" {
			t.Fatalf("%s=%s but %s", sqltest.RequireEnv, v, msg)
		}
		t.Skip(msg)
	}
	u.Path = "/" + db.Name
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String()
}

// Four processes run klepto's migrations on one new database through
// PgBouncer at once, with klepto-sql migrate up: all succeed, the schema
// is at the latest version, clean, and no advisory lock is left on the
// server. The migration lock is a transaction's (pg_advisory_xact_lock),
// which keeps its server connection; a session's lock would be taken on
// one server connection and released on another, or never.
func TestPgBouncerMigrateConcurrently(t *testing.T) {
	const procs = 4
	db := sqltest.PgBouncer(t)
	cli := pgbouncerCLI(t, db)
	var wg sync.WaitGroup
	outs := make([]string, procs)
	errs := make([]error, procs)
	for i := range procs {
		wg.Go(func() { outs[i], errs[i] = runCLIErr(t, cli, "migrate", "up") })
	}
	wg.Wait()
	for i := range procs {
		if errs[i] != nil {
			t.Errorf("process %d: klepto-sql migrate up: %v\n%s", i, errs[i], outs[i])
		}
	}
	ctx := t.Context()
	state, err := migrations.Status(ctx, db.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, dirty, err := migrations.Version(ctx, db.DB, nil)
	if err != nil || dirty || v != state.Latest() {
		t.Errorf("after the migrations, Version = %d, dirty %v, %v; want %d, clean", v, dirty, err, state.Latest())
	}
	var locks int
	err = db.DB.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
		WHERE l.locktype = 'advisory' AND d.datname = current_database()`).Scan(&locks)
	if err != nil || locks != 0 {
		t.Errorf("%d advisory locks left on the database (%v), want none", locks, err)
	}
	// Up again, in this process, through the pooler: nothing to do.
	if err := migrations.Up(ctx, db.DB, nil); !errors.Is(err, migrations.ErrNoChange) {
		t.Errorf("Up again = %v, want ErrNoChange", err)
	}
}

// pgbouncerCLI returns db as klepto-sql names it through PgBouncer: its URL
// with pooler=transaction in place of the driver's parameter.
func pgbouncerCLI(t *testing.T, db sqltest.Database) sqltest.Database {
	t.Helper()
	u, err := url.Parse(sqltest.PgBouncerDSN(t, "postgres", db.DSN, ""))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("binary_parameters")
	q.Set("pooler", "transaction")
	u.RawQuery = q.Encode()
	cli := db
	cli.Driver, cli.DSN = "postgres", u.String()
	return cli
}

// klepto-sql creates an archive, stores and reads values and lists the
// archives through PgBouncer, with pooler=transaction; a value it stores is
// read by the library through the pooler too, and watch polls the feed.
func TestPgBouncerCLI(t *testing.T) {
	db := sqltest.PgBouncer(t)
	cli := pgbouncerCLI(t, db)
	runCLI(t, cli, "create", "fib")
	for i := range 20 {
		runCLI(t, cli, "put", "fib", fmt.Sprintf("(%d)", i), fmt.Sprint(i*i))
	}
	if out, _ := runCLI(t, cli, "get", "fib", "(7)"); out != "49\n" {
		t.Errorf("get fib (7) printed %q, want 49", out)
	}
	if out, _ := runCLI(t, cli, "ls"); !strings.Contains(out, "fib") {
		t.Errorf("ls printed %q, want the archive fib", out)
	}
	a, err := sqlarchive.Open(t.Context(), db.DB, &sqlarchive.Options{NoPrepare: true, SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tbl, err := sqlarchive.Table[int](t.Context(), a, "fib", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	if v, ok, err := tbl.Get(t.Context(), keymap.NewKey("(19)")); err != nil || !ok || v != 361 {
		t.Errorf("the library read (19) = %d, %v, %v; want 361", v, ok, err)
	}
	// watch polls: LISTEN would not pass the pooler. It runs until -timeout.
	if out, _ := runCLIErr(t, cli, "watch", "-timeout", "1s", "-interval", "100ms"); !strings.Contains(out, "reading the feed every 100ms") {
		t.Errorf("klepto-sql watch through PgBouncer printed %q, want it to say it reads the feed every 100ms", out)
	}
	if out, err := runCLIErr(t, pgbouncerCLIMode(t, db, "session"), "ls"); err == nil || !strings.Contains(out, "pooler=session") {
		t.Errorf("klepto-sql ls with pooler=session: %v, %q; want an error naming the parameter", err, out)
	}
}

// pgbouncerCLIMode is pgbouncerCLI with pooler=mode.
func pgbouncerCLIMode(t *testing.T, db sqltest.Database, mode string) sqltest.Database {
	t.Helper()
	cli := pgbouncerCLI(t, db)
	cli.DSN = strings.Replace(cli.DSN, "pooler=transaction", "pooler="+mode, 1)
	return cli
}

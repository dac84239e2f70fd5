package integration

import (
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
)

// runMigrations is the advice that errors about missing tables give.
const runMigrations = "migrate up"

// A database whose migrations stopped before the change feed or the leases
// is refused with an error that wraps sqlarchive.ErrNoFeed and says to run
// the migrations.
func TestMissingFeedTables(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			for _, tc := range []struct {
				name  string
				setup func(t *testing.T, db sqltest.Database) error
				cli   bool // try klepto-sql put on the archive sq too
			}{
				{name: "no catalog statistics (version 4)", setup: func(t *testing.T, db sqltest.Database) error {
					return migrations.Down(ctx, db.DB, stepsDownTo(t, d, 4), &migrations.Options{Dialect: d})
				}},
				{name: "no leases (version 3)", setup: func(t *testing.T, db sqltest.Database) error {
					return migrations.Down(ctx, db.DB, stepsDownTo(t, d, 3), &migrations.Options{Dialect: d})
				}},
				{name: "no leases, feed without keys (version 2)", setup: func(t *testing.T, db sqltest.Database) error {
					return migrations.Down(ctx, db.DB, stepsDownTo(t, d, 2), &migrations.Options{Dialect: d})
				}},
				{name: "no feed", cli: true, setup: func(t *testing.T, db sqltest.Database) error {
					runCLI(t, db, "create", "sq")
					runCLI(t, db, "put", "sq", keyText(t, 1), "4")
					_, err := db.DB.ExecContext(ctx, "DROP TABLE "+d.QuoteIdent(migrations.ChangesTable))
					return err
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					db := sqltest.Fresh(t, d)
					if err := migrations.Up(ctx, db.DB, &migrations.Options{Dialect: d}); err != nil {
						t.Fatal(err)
					}
					if err := tc.setup(t, db); err != nil {
						t.Fatal(err)
					}
					cfg := serveConfigOf(db, "sq")
					cfg.SkipMigrate = true
					_, r := startServerErr(t, cfg)
					t.Logf("Open and Memoize: %s", r.Err)
					if !r.IsNoFeed || !strings.Contains(r.Err, runMigrations) {
						t.Errorf("the server started with %q, want an error wrapping sqlarchive.ErrNoFeed that says to %s", r.Err, runMigrations)
					}
					if !tc.cli {
						return
					}
					// klepto-sql, which opens databases with SkipMigrate,
					// refuses an overwrite that it could not record.
					out, err := runCLIErr(t, db, "put", "sq", keyText(t, 1), "5")
					t.Logf("klepto-sql put over a stored key: %v: %s", err, out)
					if err == nil || !strings.Contains(out, runMigrations) {
						t.Errorf("klepto-sql put overwrote a key without the feed, or did not say to %s: %v\n%s", runMigrations, err, out)
					}
				})
			}
		})
	}
}

// Tables dropped under running memos: without the leases, a call that must
// compute fails with an error wrapping sqlarchive.ErrNoFeed that says to
// run the migrations, while what is stored is still served, and the memo
// works again once the migrations are run, without a restart. Without the
// feed, a delete through a table opened before fails, says to run the
// migrations, and changes nothing.
func TestFeedTablesDropped(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			db := sqltest.Fresh(t, d)
			servers := startServers(t, serveConfigOf(db, "sq"), serveConfigOf(db, "sq"))
			b, a := servers[0], servers[1]
			b.call(1)
			a.call(3)

			if _, err := db.DB.ExecContext(ctx, "DROP TABLE "+d.QuoteIdent(migrations.LeasesTable)); err != nil {
				t.Fatal(err)
			}
			r := b.do(request{Op: "call", N: 2})
			t.Logf("a call that must compute: %s", r.Err)
			if !r.IsNoFeed || !strings.Contains(r.Err, runMigrations) {
				t.Errorf("a call that must compute returned %+v, want an error wrapping sqlarchive.ErrNoFeed that says to %s", r, runMigrations)
			}
			if r := b.call(1); !r.Memory || r.Value != square(1) {
				t.Errorf("the call of a key in memory = %+v", r)
			}
			if r := b.call(3); r.Ran || r.Value != square(3) {
				t.Errorf("the call of a key in the archive = %+v, want a load", r)
			}
			// The operator reverts the migrations down to 3 (migration 4's
			// down drops klepto_leases if it exists) and runs them again.
			if err := migrations.Down(ctx, db.DB, stepsDownTo(t, d, 3), &migrations.Options{Dialect: d}); err != nil {
				t.Fatal(err)
			}
			if err := migrations.Up(ctx, db.DB, &migrations.Options{Dialect: d}); err != nil {
				t.Fatal(err)
			}
			if r := b.call(2); !r.Ran || r.Value != square(2) {
				t.Errorf("the call after the migrations = %+v, want it computed", r)
			}

			if _, err := db.DB.ExecContext(ctx, "DROP TABLE "+d.QuoteIdent(migrations.ChangesTable)); err != nil {
				t.Fatal(err)
			}
			// Forget deletes through the memo's table, opened with the feed.
			r = a.do(request{Op: "forget", N: 3})
			t.Logf("a delete without the feed: %s", r.Err)
			if r.Err == "" || !strings.Contains(r.Err, runMigrations) {
				t.Errorf("a delete without the feed returned %+v, want an error that says to %s", r, runMigrations)
			}
			if r := a.call(3); r.Ran || r.Value != square(3) {
				t.Errorf("after the failed delete, the call = %+v, want the value stored before, loaded", r)
			}
			// The followers report their failed polls.
			deadline := time.Now().Add(5 * time.Second)
			for b.info().Follow.Errors == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the follower counts no failed poll: %+v", b.info().Follow)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// A process waiting for another's lease stops waiting when its context
// ends, with an error wrapping context.DeadlineExceeded, promptly, even
// while the database makes it wait; when its connections are killed while
// it waits, it goes on (computing the key itself once LeaseWait is over)
// or fails with a clear error, and works on.
func TestLeaseWaitFaults(t *testing.T) {
	const (
		deadline  = time.Second
		prompt    = deadline + 500*time.Millisecond
		leaseWait = 3 * time.Second
	)
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, d)
			ctx := t.Context()
			leaderCfg := serveConfigOf(db, "sq")
			leaderCfg.Block = true
			// Longer than the test, so that a leader slowed down by a
			// loaded machine keeps its leases even if renewals are late.
			leaderCfg.LeaseTTL = time.Minute
			waiterCfg := serveConfigOf(db, "sq")
			waiterCfg.LeaseWait = leaseWait
			app := "klepto_waiter_" + db.Name
			if d == dialect.Postgres {
				waiterCfg.DSN = withParam(t, db.DSN, "application_name", app)
			}
			servers := startServers(t, leaderCfg, waiterCfg)
			leader, waiter := servers[0], servers[1]
			// The leader computes keys 1, 3 and 4, and blocks.
			for _, n := range []int{1, 3, 4} {
				leader.send(request{Op: "call", N: n})
				leader.event(10 * time.Second)
			}

			expectDeadline := func(what string, n int) {
				t.Helper()
				r := waiter.do(request{Op: "call", N: n, Timeout: deadline})
				t.Logf("%s: the call with a deadline of %v returned after %v: %s", what, deadline, r.Elapsed.Round(time.Millisecond), r.Err)
				if !r.IsDeadline || r.Ran {
					t.Errorf("%s: the call = %+v, want an error wrapping context.DeadlineExceeded", what, r)
				}
				if r.Elapsed > prompt {
					t.Errorf("%s: the call returned %v after its deadline of %v", what, r.Elapsed, deadline)
				}
			}
			expectDeadline("waiting", 3)

			// The database goes away while the waiter waits.
			call := waiter.send(request{Op: "call", N: 1})
			time.Sleep(300 * time.Millisecond)
			switch d {
			case dialect.SQLite:
				// Another process holds the write lock of the file, for
				// less than the 5 s (dialect.SQLiteLockWait) that a call without a
				// deadline waits for it.
				const locked = 2500 * time.Millisecond
				conn, err := db.DB.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
					t.Fatal(err)
				}
				unlocked := make(chan error, 1)
				go func() {
					time.Sleep(locked)
					_, err := conn.ExecContext(ctx, "ROLLBACK")
					unlocked <- errors.Join(err, conn.Close())
				}()
				expectDeadline("the database locked for "+locked.String(), 4)
				if err := <-unlocked; err != nil {
					t.Fatal(err)
				}
			case dialect.Postgres:
				n := terminate(t, db.DB, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app)
				t.Logf("terminated the waiter's %d connections", n)
			case dialect.MySQL:
				// Every connection to the test's database but this one,
				// the leader's too: MySQL does not name them by program.
				conn, err := db.DB.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				rows, err := conn.QueryContext(ctx, `SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()`, db.Name)
				if err != nil {
					t.Fatal(err)
				}
				var ids []int64
				for rows.Next() {
					var id int64
					if err := rows.Scan(&id); err != nil {
						t.Fatal(err)
					}
					ids = append(ids, id)
				}
				if err := errors.Join(rows.Err(), rows.Close()); err != nil {
					t.Fatal(err)
				}
				for _, id := range ids {
					// A connection may end by itself meanwhile.
					_, _ = conn.ExecContext(ctx, "KILL ?", id)
				}
				conn.Close()
				t.Logf("killed %d connections", len(ids))
			}
			r := call.wait()
			t.Logf("the call waiting while the database went away returned after %v: value %d, ran %v, error %q",
				r.Elapsed.Round(time.Millisecond), r.Value, r.Ran, r.Err)
			switch {
			case r.Err == "" && (r.Value != square(1) || !r.Ran):
				t.Errorf("the call = %+v, want the value computed after LeaseWait", r)
			case r.Err == "" && r.Elapsed < leaseWait:
				t.Errorf("the call computed the key after %v, before LeaseWait (%v), while the leader computes it", r.Elapsed, leaseWait)
			}
			if r.Elapsed > leaseWait+2*time.Second {
				t.Errorf("the call returned after %v, want soon after LeaseWait (%v)", r.Elapsed, leaseWait)
			}
			// The waiter works on.
			if r := waiter.call(2); r.Value != square(2) {
				t.Errorf("the next call = %+v", r)
			}
			expectDeadline("after the faults", 3)
		})
	}
}

// terminate runs query, which terminates connections and returns one row
// per connection, with args, and returns how many it terminated.
func terminate(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		t.Fatal(err)
	}
	return n
}

// withParam returns the lib/pq DSN dsn, a URL or key=value pairs, with the
// parameter key set to value.
func withParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "=" + value
}

package sqltest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
)

// Environment variables that gate the tests against a PostgreSQL primary and
// its streaming hot standby, such as those integration/topology/pg-replica.sh
// starts.
const (
	// PGPrimaryEnv holds the DSN of the primary, for example
	// postgres://postgres@127.0.0.1:15433/test?sslmode=disable.
	PGPrimaryEnv = "KLEPTO_TEST_PG_PRIMARY_DSN"
	// PGReplicaEnv holds the DSN of the same database on the standby, for
	// example postgres://postgres@127.0.0.1:15434/test?sslmode=disable.
	PGReplicaEnv = "KLEPTO_TEST_PG_REPLICA_DSN"
)

// replayWait bounds how long [Replica.WaitReplay] waits.
const replayWait = 2 * time.Minute

// replayLock is the key of the advisory lock, on the primary, that orders
// the tests of the standby in every process: each test holds it shared from
// [PostgresReplica] to its end, and exclusive while it pauses replay. So a
// pause waits for every other test of the standby to end, and a test of the
// standby that starts during another's pause waits for it to end before it
// reads anything: no test ever runs, or waits for replay, under another
// test's pause, and no test resumes the pause of another that still runs.
const replayLock = 0x6b6c6570746f // "klepto"

// Replica is a fresh, empty schema on a PostgreSQL primary, and the same
// schema as its streaming hot standby replays it, made for one test.
type Replica struct {
	Primary Database // pools and DSNs with search_path set to the schema
	Replica Database // the same on the standby, which refuses writes

	admin, standby *sql.DB // without search_path
	hold           *replayHold
}

// replayHold is a test's hold of replayLock.
type replayHold struct {
	conn   *sql.Conn // the session on the primary that holds the lock
	paused bool      // held exclusive, with replay paused
}

// PostgresReplica returns a new schema on the primary named by
// KLEPTO_TEST_PG_PRIMARY_DSN and a pool on the same schema of its hot
// standby, named by KLEPTO_TEST_PG_REPLICA_DSN, once the standby has
// replayed its creation. The pools are closed and the schema dropped when the
// test ends. Without either variable, PostgresReplica calls tb.Skip naming
// it, or tb.Fatal if KLEPTO_TEST_REQUIRE_DBS=1.
//
// From PostgresReplica to the end of the test, no other test, in any
// process, pauses the standby's replay: PostgresReplica waits, with no time
// limit, until any test that has paused it, or waits to, resumes, and a later
// [Replica.PauseReplay] waits until this test ends. A test calls
// PostgresReplica at most once (a second call could wait for ever behind
// another test's pause, itself waiting for the first).
func PostgresReplica(tb testing.TB) Replica {
	tb.Helper()
	driverName := PostgresDriver(tb)
	primaryDSN := requireDSN(tb, PGPrimaryEnv, "a PostgreSQL primary")
	replicaDSN := requireDSN(tb, PGReplicaEnv, "a PostgreSQL hot standby")
	ctx := context.Background()
	r := Replica{admin: openServer(tb, driverName, primaryDSN), standby: openServer(tb, driverName, replicaDSN)}
	var recovery bool
	if err := r.standby.QueryRowContext(ctx, `SELECT pg_is_in_recovery()`).Scan(&recovery); err != nil || !recovery {
		tb.Fatalf("sqltest: %s is not a hot standby (pg_is_in_recovery: %v, %v)", PGReplicaEnv, recovery, err)
	}
	r.hold = holdReplay(tb, r.admin, r.standby)
	schema := uniqueName()
	quoted := dialect.Postgres.QuoteIdent(schema)
	if _, err := r.admin.ExecContext(ctx, `CREATE SCHEMA `+quoted); err != nil {
		tb.Fatalf("sqltest: create postgres schema on the primary: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := r.admin.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+quoted+` CASCADE`); err != nil {
			tb.Errorf("sqltest: drop postgres schema %s: %v", schema, err)
		}
	})
	r.Primary = schemaDatabase(tb, driverName, PGPrimaryEnv, primaryDSN, schema)
	r.Replica = schemaDatabase(tb, driverName, PGReplicaEnv, replicaDSN, schema)
	r.WaitReplay(tb)
	return r
}

// holdReplay takes replayLock shared on a session of admin, until the test
// ends, and resumes the standby's replay if a pause outlived the test that
// made it (whose process died before resuming it: its session, and so its
// exclusive hold, ended with it).
func holdReplay(tb testing.TB, admin, standby *sql.DB) *replayHold {
	tb.Helper()
	ctx := context.Background()
	conn, err := admin.Conn(ctx)
	if err != nil {
		tb.Fatalf("sqltest: connect to the primary: %v", err)
	}
	// Closing admin when the test ends closes the session, and so lets the
	// lock go, even if the unlock below fails.
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock_shared($1)`, replayLock); err != nil {
		_ = conn.Close()
		tb.Fatalf("sqltest: wait for other tests' pauses of replay to end: %v", err)
	}
	h := &replayHold{conn: conn}
	tb.Cleanup(func() {
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock_shared($1)`, replayLock); err != nil {
			tb.Errorf("sqltest: let other tests pause replay: %v", err)
		}
	})
	var state string
	if err := standby.QueryRowContext(ctx, `SELECT pg_get_wal_replay_pause_state()`).Scan(&state); err != nil {
		tb.Fatalf("sqltest: read the standby's replay state: %v", err)
	}
	if state != "not paused" {
		tb.Logf("sqltest: the standby's replay is %s with no test pausing it; resuming it", state)
		if _, err := standby.ExecContext(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
			tb.Fatalf("sqltest: resume the standby's replay: %v", err)
		}
	}
	return h
}

// WaitReplay waits until the standby has replayed everything the primary
// had written when WaitReplay was called, and fails the test after two
// minutes, or at once if the test has paused replay and not resumed it.
func (r Replica) WaitReplay(tb testing.TB) {
	tb.Helper()
	if r.hold != nil && r.hold.paused {
		tb.Fatalf("sqltest: WaitReplay while the test has paused replay; call the resume PauseReplay returned first")
	}
	ctx := context.Background()
	var lsn string
	if err := r.admin.QueryRowContext(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		tb.Fatalf("sqltest: read the primary's WAL position: %v", err)
	}
	deadline := time.Now().Add(replayWait)
	for {
		var done bool
		err := r.standby.QueryRowContext(ctx, `SELECT COALESCE(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)`, lsn).Scan(&done)
		switch {
		case err != nil:
			tb.Fatalf("sqltest: read the standby's replay position: %v", err)
		case done:
			return
		case time.Now().After(deadline):
			tb.Fatalf("sqltest: the standby has not replayed the primary's WAL up to %s after %v", lsn, replayWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// PauseReplay pauses the standby's replay of the primary's WAL, so that
// what the primary commits from then on does not reach the standby, which
// keeps streaming it, until the returned resume is called (or the test
// ends). PauseReplay first waits until every other test of the standby, in
// any process, has ended (see [PostgresReplica]); tests that start
// meanwhile wait for the resume.
func (r Replica) PauseReplay(tb testing.TB) (resume func()) {
	tb.Helper()
	h := r.hold
	if h == nil {
		tb.Fatalf("sqltest: PauseReplay on a Replica that PostgresReplica did not return")
	}
	if h.paused {
		tb.Fatalf("sqltest: PauseReplay while the test has paused replay already")
	}
	ctx := context.Background()
	// Let the shared hold go before asking for the exclusive one: two tests
	// that each kept theirs while asking would wait for each other.
	if _, err := h.conn.ExecContext(ctx, `SELECT pg_advisory_unlock_shared($1)`, replayLock); err != nil {
		tb.Fatalf("sqltest: let go of the shared hold on pauses of replay: %v", err)
	}
	if _, err := h.conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, replayLock); err != nil {
		tb.Fatalf("sqltest: wait for the other tests of the standby to end: %v", err)
	}
	h.paused = true
	resumed := false
	resume = func() {
		tb.Helper()
		if resumed {
			return
		}
		resumed = true
		if _, err := r.standby.ExecContext(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
			tb.Errorf("sqltest: resume the standby's replay: %v", err)
		}
		// Hold the lock shared again before letting the exclusive hold go, so
		// that no other test pauses replay before this one ends. The
		// session holds it exclusive, so it gets it at once, ahead of any
		// other session waiting for it.
		if _, err := h.conn.ExecContext(ctx, `SELECT pg_advisory_lock_shared($1)`, replayLock); err != nil {
			tb.Errorf("sqltest: hold pauses of replay off: %v", err)
		}
		if _, err := h.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, replayLock); err != nil {
			tb.Errorf("sqltest: unlock pauses of replay: %v", err)
		}
		h.paused = false
	}
	tb.Cleanup(resume)
	if _, err := r.standby.ExecContext(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		tb.Fatalf("sqltest: pause the standby's replay: %v", err)
	}
	// Once requested, the pause stops replay before the next record, and
	// so before anything the test commits next.
	var state string
	if err := r.standby.QueryRowContext(ctx, `SELECT pg_get_wal_replay_pause_state()`).Scan(&state); err != nil {
		tb.Fatalf("sqltest: read the standby's replay state: %v", err)
	}
	if state == "not paused" {
		tb.Fatalf("sqltest: the standby's replay is %s after pg_wal_replay_pause", state)
	}
	return resume
}

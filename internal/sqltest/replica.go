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

// pauseLock is the key of the advisory lock, on the primary, that a test
// holds while it pauses the standby's replay: tests that pause it, in any
// process, take turns, so that one never resumes another's pause.
const pauseLock = 0x6b6c6570746f // "klepto"

// Replica is a fresh, empty schema on a PostgreSQL primary, and the same
// schema as its streaming hot standby replays it, made for one test.
type Replica struct {
	Primary Database // pools and DSNs with search_path set to the schema
	Replica Database // the same on the standby, which refuses writes

	admin, standby *sql.DB // without search_path
}

// PostgresReplica returns a new schema on the primary named by
// KLEPTO_TEST_PG_PRIMARY_DSN and a pool on the same schema of its hot
// standby, named by KLEPTO_TEST_PG_REPLICA_DSN, once the standby has
// replayed its creation. The pools are closed and the schema dropped when the
// test ends. Without either variable, PostgresReplica calls tb.Skip naming
// it, or tb.Fatal if KLEPTO_TEST_REQUIRE_DBS=1.
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

// WaitReplay waits until the standby has replayed everything the primary
// had written when WaitReplay was called, and fails the test after two
// minutes.
func (r Replica) WaitReplay(tb testing.TB) {
	tb.Helper()
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
// ends). Tests that pause replay, in any process, take turns: PauseReplay
// waits while another holds a pause.
func (r Replica) PauseReplay(tb testing.TB) (resume func()) {
	tb.Helper()
	ctx := context.Background()
	lock, err := r.admin.Conn(ctx)
	if err != nil {
		tb.Fatalf("sqltest: connect to the primary: %v", err)
	}
	if _, err := lock.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, pauseLock); err != nil {
		_ = lock.Close()
		tb.Fatalf("sqltest: wait for other tests' pauses of replay: %v", err)
	}
	resumed := false
	resume = func() {
		tb.Helper()
		if resumed {
			return
		}
		resumed = true
		defer lock.Close()
		if _, err := r.standby.ExecContext(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
			tb.Errorf("sqltest: resume the standby's replay: %v", err)
		}
		if _, err := lock.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, pauseLock); err != nil {
			tb.Errorf("sqltest: unlock pauses of replay: %v", err)
		}
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

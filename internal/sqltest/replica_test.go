package sqltest_test

import (
	"testing"

	"github.com/klepto-sql/klepto/internal/sqltest"
)

// TestPostgresReplica checks the helpers of the read-replica tests: the
// standby refuses writes; with its replay paused, it has not what the
// primary commits; once replay resumes, WaitReplay returns when it has.
func TestPostgresReplica(t *testing.T) {
	r := sqltest.PostgresReplica(t)
	ctx := t.Context()
	if _, err := r.Replica.DB.ExecContext(ctx, `CREATE TABLE refused (n int)`); err == nil {
		t.Fatal("the standby accepted a CREATE TABLE")
	}
	if _, err := r.Primary.DB.ExecContext(ctx, `CREATE TABLE t (n int)`); err != nil {
		t.Fatal(err)
	}
	r.WaitReplay(t)
	count := func() int {
		t.Helper()
		var n int
		if err := r.Replica.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
			t.Fatalf("count on the standby: %v", err)
		}
		return n
	}
	resume := r.PauseReplay(t)
	if _, err := r.Primary.DB.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("the standby has %d rows with replay paused; want 0", n)
	}
	resume()
	r.WaitReplay(t)
	if n := count(); n != 1 {
		t.Fatalf("the standby has %d rows after replay resumed; want 1", n)
	}
}

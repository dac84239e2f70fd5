package dialect_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// On SQLite, RetryBusy waits for another connection's write lock as long
// as the context's deadline allows, past SQLiteLockWait.
func TestRetryBusyWaitsUntilDeadline(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "x.db")
	db := sqltest.SQLiteAt(t, path)
	unlock := sqltest.LockSQLite(t, path) // another process
	locked := dialect.SQLiteLockWait + 700*time.Millisecond
	released := make(chan error, 1)
	go func() {
		time.Sleep(locked)
		released <- unlock()
	}()
	wctx, cancel := context.WithTimeout(ctx, locked+5*time.Second)
	defer cancel()
	start := time.Now()
	err := dialect.SQLite.RetryBusy(wctx, func() error {
		_, err := db.ExecContext(wctx, "CREATE TABLE t (x INTEGER)")
		return err
	})
	if err != nil {
		t.Fatalf("RetryBusy with a deadline past the %v lock: %v after %v", locked, err, time.Since(start))
	}
	if took := time.Since(start); took < locked-100*time.Millisecond {
		t.Errorf("RetryBusy returned after %v, before the lock was released", took)
	}
	if err := <-released; err != nil {
		t.Fatal(err)
	}
}

// RetryConflict runs a statement again while it fails with a deadlock, up
// to n times, stops at once on another error, and stops waiting when its
// context is done, with an error that wraps both.
func TestRetryConflict(t *testing.T) {
	t.Parallel()
	deadlock := sqlStateError("40P01")
	other := errors.New("not a conflict")
	cases := []struct {
		name  string
		fails []error // the errors of the attempts, in order; nil after them
		n     int
		runs  int
		want  error
	}{
		{"succeeds after deadlocks", []error{deadlock, deadlock}, 8, 3, nil},
		{"gives up after n retries", []error{deadlock, deadlock, deadlock, deadlock}, 2, 3, deadlock},
		{"other errors are not retried", []error{deadlock, other}, 8, 2, other},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runs := 0
			err := dialect.MySQL.RetryConflict(t.Context(), tc.n, func() error {
				runs++
				if runs <= len(tc.fails) {
					return tc.fails[runs-1]
				}
				return nil
			})
			if runs != tc.runs || !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("%d runs, error %v; want %d runs, error %v", runs, err, tc.runs, tc.want)
			}
		})
	}
	t.Run("context done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		runs := 0
		err := dialect.MySQL.RetryConflict(ctx, 8, func() error {
			runs++
			cancel()
			return deadlock
		})
		if runs != 1 || !errors.Is(err, context.Canceled) || !dialect.IsDeadlock(err) {
			t.Errorf("%d runs, error %v; want 1 run and an error wrapping the deadlock and context.Canceled", runs, err)
		}
	})
}

// Sleep waits its duration, or returns the context's error as soon as it
// is done.
func TestSleep(t *testing.T) {
	t.Parallel()
	start := time.Now()
	if err := dialect.Sleep(t.Context(), 20*time.Millisecond); err != nil || time.Since(start) < 20*time.Millisecond {
		t.Errorf("Sleep(20ms) = %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start = time.Now()
	if err := dialect.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Errorf("Sleep(1h) with a canceled context = %v after %v", err, time.Since(start))
	}
}

// IsGalera is false, with no query, for SQLite and PostgreSQL, and for a
// MariaDB or MySQL server without Galera (KLEPTO_TEST_MYSQL_DSN), true for
// a node of the cluster of KLEPTO_TEST_GALERA_DSNS.
func TestIsGalera(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, d := range []*dialect.Dialect{dialect.SQLite, dialect.Postgres} {
		if ok, err := d.IsGalera(ctx, nil); ok || err != nil {
			t.Errorf("%s: IsGalera = %v, %v", d.Name(), ok, err)
		}
	}
	t.Run("mysql", func(t *testing.T) {
		db := sqltest.Fresh(t, dialect.MySQL)
		if ok, err := dialect.MySQL.IsGalera(ctx, db.DB); ok || err != nil {
			t.Errorf("IsGalera = %v, %v on the server of %s", ok, err, "KLEPTO_TEST_MYSQL_DSN")
		}
	})
	t.Run("galera", func(t *testing.T) {
		node := sqltest.GaleraNode(t, 0)
		if ok, err := dialect.MySQL.IsGalera(ctx, node.DB); !ok || err != nil {
			t.Errorf("IsGalera = %v, %v on a node of %s", ok, err, sqltest.GaleraEnv)
		}
	})
}

package dialect_test

import (
	"context"
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

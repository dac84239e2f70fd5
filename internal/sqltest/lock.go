package sqltest

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// LockSQLite takes the write lock of the SQLite database file at path, as
// another process would: BEGIN IMMEDIATE on a connection of a pool of its
// own. It returns release, which gives the lock up (once; later calls
// return the first call's error); the lock is released when the test ends
// if not before.
func LockSQLite(tb testing.TB, path string) (release func() error) {
	tb.Helper()
	ctx := context.Background()
	conn, err := SQLiteAt(tb, path).Conn(ctx)
	if err != nil {
		tb.Fatalf("sqltest: lock %s: %v", path, err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		_ = conn.Close()
		tb.Fatalf("sqltest: lock %s: %v", path, err)
	}
	release = sync.OnceValue(func() error {
		_, err := conn.ExecContext(ctx, "ROLLBACK")
		return errors.Join(err, conn.Close())
	})
	tb.Cleanup(func() { _ = release() })
	return release
}

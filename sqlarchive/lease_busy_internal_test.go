package sqlarchive

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
)

// On SQLite, releasing leases waits for another connection's write lock
// beyond busy_timeout, within the release's deadline, rather than leaving
// the leases to expire.
func TestReleaseWaitsForSQLiteLock(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cache.db")
	db := sqltest.SQLiteAt(t, path)
	other := sqltest.SQLiteAt(t, path)
	a, err := Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := Table[int](ctx, a, "sq", nil); err != nil {
		t.Fatal(err)
	}
	l := a.leases
	key := keymap.NewKey("(3)")
	holder := l.holder()
	s, got, err := l.acquire(ctx, "sq", key, holder, time.Minute, l.d.TimeArg(time.Now()))
	if err != nil || !got {
		t.Fatalf("acquire = %v, %v", got, err)
	}

	// Another connection holds the write lock for three busy_timeouts.
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	unlocked := make(chan error, 1)
	time.AfterFunc(300*time.Millisecond, func() {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), "COMMIT")
		unlocked <- err
	})
	rctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	defer cancel()
	err = l.releaseAll(rctx, []release{{"sq", key.Hash[:], holder}}, []*leaseStmt{s.release})
	if uerr := <-unlocked; uerr != nil {
		t.Fatal(uerr)
	}
	if err != nil {
		t.Fatalf("release while locked: %v", err)
	}

	// Released, the lease can be taken once its grace has passed.
	time.Sleep(2 * releaseGrace)
	_, got, err = l.acquire(ctx, "sq", key, l.holder(), time.Minute, l.d.TimeArg(time.Now()))
	if err != nil || !got {
		t.Fatalf("acquire after the release = %v, %v; want the lease", got, err)
	}
}

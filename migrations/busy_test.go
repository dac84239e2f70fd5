package migrations_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
)

// On SQLite, Up waits for another process's write lock as long as its
// context allows: it fails soon after a deadline that comes first, and
// succeeds once the lock is released.
func TestUpWaitsForSQLiteLock(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "x.db")
	db := sqltest.SQLiteAt(t, path)
	unlock := sqltest.LockSQLite(t, path) // another process

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	start := time.Now()
	err := migrations.Up(short, db, nil)
	cancel()
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 1500*time.Millisecond {
		t.Errorf("Up with a deadline of 300 ms while the database is locked = %v after %v, want context.DeadlineExceeded soon after 300 ms", err, took)
	}

	const locked = 700 * time.Millisecond
	released := make(chan error, 1)
	go func() {
		time.Sleep(locked)
		released <- unlock()
	}()
	start = time.Now()
	if err := migrations.Up(ctx, db, nil); err != nil {
		t.Fatalf("Up while the database is locked for %v: %v", locked, err)
	}
	if took := time.Since(start); took < locked-100*time.Millisecond {
		t.Errorf("Up returned after %v, before the lock was released", took)
	}
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	list, err := migrations.List(dialect.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if v, dirty, err := migrations.Version(ctx, db, nil); err != nil || dirty || v != list[len(list)-1].Version {
		t.Errorf("Version after Up = %d, dirty %v, %v; want %d", v, dirty, err, list[len(list)-1].Version)
	}
}

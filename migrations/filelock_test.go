package migrations

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gofrs/flock"
)

// Many lockers, each with its own open file as another process has, take
// the lock in turn while every holder removes the file: the lock stays
// exclusive, and no file is left.
func TestLockFileExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db.klepto-migrate.lock")
	var (
		inside atomic.Int32
		wg     sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				unlock, err := lockFile(t.Context(), path)
				if err != nil {
					t.Error(err)
					return
				}
				if n := inside.Add(1); n != 1 {
					t.Errorf("%d holders of the lock at once", n)
				}
				runtime.Gosched() // let the others try meanwhile
				inside.Add(-1)
				if err := unlock(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the lock file is left behind: %v", err)
	}
}

// A lock file left by a process that crashed is locked as it is, and
// removed when the lock is released.
func TestLockFileLeftBehind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db.klepto-migrate.lock")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockFile(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the lock file is left behind: %v", err)
	}
}

// A locker that gets the lock on a file its holder removed, or replaced,
// does not hold the lock.
func TestIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db.klepto-migrate.lock")
	lock := flock.New(path)
	defer lock.Close()
	if err := lock.Lock(); err != nil {
		t.Fatal(err)
	}
	if ok, err := isLocked(lock, path); !ok || err != nil {
		t.Fatalf("isLocked of the file at path = %v, %v; want true", ok, err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if ok, err := isLocked(lock, path); ok || err != nil {
		t.Fatalf("isLocked of a removed file = %v, %v; want false", ok, err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := isLocked(lock, path); ok || err != nil {
		t.Fatalf("isLocked of a replaced file = %v, %v; want false", ok, err)
	}
}

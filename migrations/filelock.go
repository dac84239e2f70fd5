package migrations

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"time"

	"github.com/gofrs/flock"

	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/internal/fskind"
)

// memoryLock serializes migrations of SQLite databases that have no file
// (in-memory and temporary ones), which only this process can reach.
var memoryLock = make(chan struct{}, 1)

// lockFile takes an exclusive lock on the lock file at path, creating it if
// missing, waiting until ctx is done. It is an OS file lock (flock on Unix,
// LockFileEx on Windows), so it excludes other processes and other calls in
// this process alike, and the OS releases it if the process dies.
//
// unlock removes the file, so that none is left behind once migrations are
// done. Removing a lock file races with a process that opened it and waits
// for the lock: when it gets the lock, the file it holds may no longer be
// the one at path, and another process may hold that one. So lockFile
// holds the lock only once the file it locked is still the file at path,
// and otherwise starts again; and on Unix, unlock removes the file before
// it releases the lock. Windows refuses to remove a file that is open, ours
// included, so there unlock releases the lock first, and the removal fails
// while another process has the file open to lock it; the file then stays
// for that process, as a file left by a crashed process stays, until a
// holder removes it.
func lockFile(ctx context.Context, path string) (unlock func() error, err error) {
	for {
		// Opening a named pipe would block, and unlock would remove a
		// device or a link: lock only a regular file, or a new one.
		if err := checkRegular(path); err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		lock := flock.New(path)
		if _, err := lock.TryLockContext(ctx, 10*time.Millisecond); err != nil {
			_ = lock.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		current, err := isLocked(lock, path)
		if current {
			if held, serr := lock.Stat(); serr == nil && !held.Mode().IsRegular() {
				// Swapped for something else between the check and the open.
				_ = lock.Close()
				return nil, fmt.Errorf("lock %s: %w", path, notRegular(held.Mode()))
			}
		}
		if current {
			return func() error { return unlockFile(lock, path) }, nil
		}
		if cerr := lock.Close(); err != nil || cerr != nil {
			return nil, fmt.Errorf("lock %s: %w", path, errors.Join(err, cerr))
		}
		// The holder before us removed the file we locked: lock the one at
		// path now.
	}
}

// ErrNotRegularLock is wrapped by the error of a migration of a SQLite
// database whose lock file path exists and is not a regular file: a
// device, a named pipe, a socket, a directory or a symbolic link, which
// the migration neither opens nor removes.
var ErrNotRegularLock = errors.New("migrations: the lock file is not a regular file")

// checkRegular returns an error if the file at path exists and is not a
// regular file.
func checkRegular(path string) error {
	m, irregular, err := fskind.Irregular(path)
	if irregular {
		return notRegular(m)
	}
	return err
}

// notRegular returns the error for a lock file of mode m.
func notRegular(m fs.FileMode) error {
	return errmark.Errorf(ErrNotRegularLock, "it is %s, not a regular file", fskind.Name(m))
}

// isLocked reports whether the file that lock holds is still the file at
// path. A missing file is not an error.
func isLocked(lock *flock.Flock, path string) (bool, error) {
	held, err := lock.Stat() // the open, locked file
	if err != nil {
		return false, err
	}
	now, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(held, now), nil
}

// unlockFile removes the lock file at path and releases lock, in the order
// lockFile explains. A file that cannot be removed stays: the next holder
// locks it as it is.
func unlockFile(lock *flock.Flock, path string) error {
	if runtime.GOOS == "windows" {
		err := lock.Close()
		_ = os.Remove(path)
		return err
	}
	_ = os.Remove(path)
	return lock.Close()
}

// lockMemory takes memoryLock, waiting until ctx is done.
func lockMemory(ctx context.Context) (unlock func() error, err error) {
	select {
	case memoryLock <- struct{}{}:
		return func() error { <-memoryLock; return nil }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

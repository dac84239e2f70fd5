package migrations

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/flock"
)

// memoryLock serializes migrations of SQLite databases that have no file
// (in-memory and temporary ones), which only this process can reach.
var memoryLock = make(chan struct{}, 1)

// lockFile takes an exclusive lock on the file at path, created if missing,
// waiting until ctx is done. It is an OS file lock (flock on Unix,
// LockFileEx on Windows), so it excludes other processes and other calls in
// this process alike, and the OS releases it if the process dies. The file
// is left in place: removing it would race with a process about to lock it.
func lockFile(ctx context.Context, path string) (unlock func() error, err error) {
	lock := flock.New(path)
	if _, err := lock.TryLockContext(ctx, 10*time.Millisecond); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return lock.Unlock, nil
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

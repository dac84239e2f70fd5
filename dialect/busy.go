package dialect

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// SQLiteLockWait is how long [Dialect.RetryBusy] retries a statement that
// SQLite reports busy when the context has no deadline: the 5 s that
// SQLite's busy_timeout=5000 would wait.
const SQLiteLockWait = 5 * time.Second

// RetryBusy runs fn, and on SQLite runs it again while it fails with
// SQLITE_BUSY (another connection holds the write lock, see [IsBusy]),
// until ctx is done, or, when ctx has no deadline, until SQLiteLockWait
// has passed since the first attempt; its error then wraps ctx's. On other
// databases it runs fn once.
//
// SQLite waits for the lock in its busy handler for busy_timeout (100 ms
// with [SQLiteDSN]), which a canceled context does not interrupt: short
// attempts, with ctx checked between them, bound the wait by ctx. A busy
// statement in autocommit, or a transaction that fails busy and is rolled
// back, has written nothing, so fn may be run again whole.
func (d *Dialect) RetryBusy(ctx context.Context, fn func() error) error {
	_, bounded := ctx.Deadline()
	giveUp := time.Now().Add(SQLiteLockWait)
	for {
		err := fn()
		if err == nil || d.kind != sqlite || !IsBusy(err) || !bounded && !time.Now().Before(giveUp) {
			return err
		}
		timer := time.NewTimer(time.Duration(2+rand.IntN(6)) * time.Millisecond)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (not retried: %w)", err, ctx.Err())
		case <-timer.C:
		}
	}
}

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
		if werr := Sleep(ctx, time.Duration(2+rand.IntN(6))*time.Millisecond); werr != nil {
			return fmt.Errorf("%w (not retried: %w)", err, werr)
		}
	}
}

// RetryConflict runs fn as [Dialect.RetryBusy] does, and runs it again,
// after a short jittered wait (2 to 34 ms, growing with each attempt),
// while it fails with a deadlock ([IsDeadlock]), up to n times or until ctx
// is done; its error then wraps ctx's. On a MariaDB Galera cluster a
// deadlock (1213) is also how a node reports, at commit, that its
// transaction lost the certification to a concurrent write of the same
// rows through another node: the transaction was rolled back, and run
// again it sees the winner's write. fn must be safe to run again whole: a
// single statement in autocommit, or a whole transaction.
func (d *Dialect) RetryConflict(ctx context.Context, n int, fn func() error) error {
	for i := 0; ; i++ {
		err := d.RetryBusy(ctx, fn)
		if err == nil || i >= n || !IsDeadlock(err) {
			return err
		}
		if werr := Sleep(ctx, time.Duration(2<<min(i, 4))*time.Millisecond+rand.N(2*time.Millisecond)); werr != nil {
			return fmt.Errorf("%w (not retried: %w)", err, werr)
		}
	}
}

// Sleep waits for d, or until ctx is done, and returns ctx's error then.
func Sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

package sqlarchive

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/klepto-sql/klepto/dialect"
)

// conflictRetries is how many times retryConflict runs a statement again
// after a deadlock.
const conflictRetries = 8

// retryConflict runs fn as d.RetryBusy does, and runs it again, after a
// short jittered wait (2 to 50 ms, growing), while it fails with a
// deadlock ([dialect.IsDeadlock]), up to conflictRetries times or until ctx
// is done. On a MariaDB Galera cluster, a deadlock (1213) is also how a
// node reports, at commit, that its transaction lost the certification to
// a concurrent write of the same rows through another node: the
// transaction was rolled back, and run again it sees the winner's write.
// The statements of leases and statistics are single statements in
// autocommit, or whole transactions, so fn may be run again whole.
func retryConflict(ctx context.Context, d *dialect.Dialect, fn func() error) error {
	for n := 0; ; n++ {
		err := d.RetryBusy(ctx, fn)
		if err == nil || n >= conflictRetries || !dialect.IsDeadlock(err) {
			return err
		}
		if werr := sleepCtx(ctx, time.Duration(2<<min(n, 4))*time.Millisecond+rand.N(2*time.Millisecond)); werr != nil {
			return fmt.Errorf("%w (not retried: %w)", err, werr)
		}
	}
}

// sleepCtx waits for d, or until ctx is done, and returns ctx's error then.
func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

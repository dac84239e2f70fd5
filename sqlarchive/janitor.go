package sqlarchive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
)

// DefaultExpireBatch is the most expired entries one round of the janitor
// deletes when Options.ExpireBatch is zero.
const DefaultExpireBatch = 1000

// JanitorInfo describes the janitor of an Archive: the goroutine that
// deletes expired entries every Options.ExpireInterval.
type JanitorInfo struct {
	Running bool   // whether the janitor runs (Options.ExpireInterval is positive and the Archive open)
	Rounds  uint64 // rounds done, by the janitor or by Archive.DeleteExpired, failed ones included
	Deleted uint64 // expired entries the rounds deleted
	Errors  uint64 // failed rounds, but for those cut short by their context, as by Close (the next round tries again)
}

// janitor deletes the expired entries of the tables of an Archive, a
// bounded number per round: every interval in its own goroutine, when
// interval is positive, and on demand (Archive.DeleteExpired).
type janitor struct {
	a        *Archive
	interval time.Duration // 0: no goroutine
	batch    int

	round sync.Mutex // held by a round, so that one runs at a time; guards next
	next  string     // the archive the next round starts with, "" for the first

	mu     sync.Mutex // guards following fields
	closed bool
	cancel context.CancelFunc
	done   chan struct{}

	rounds, deleted, errs atomic.Uint64
}

// start starts the janitor's goroutine, if it has an interval.
func (j *janitor) start(ctx context.Context) {
	if j.interval <= 0 {
		return
	}
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	j.cancel, j.done = cancel, make(chan struct{})
	go j.run(run)
}

// run does a round every interval until ctx ends.
func (j *janitor) run(ctx context.Context) {
	defer close(j.done)
	tick := time.NewTicker(j.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// A round that fails is counted, and the next one tries again:
		// deleting expired entries is never urgent, as no read sees them.
		_, _ = j.sweep(ctx, j.batch)
	}
}

// close stops the goroutine and waits for it.
func (j *janitor) close() {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return
	}
	j.closed = true
	cancel, done := j.cancel, j.done
	j.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// info returns the janitor's figures.
func (j *janitor) info() JanitorInfo {
	j.mu.Lock()
	running := j.cancel != nil && !j.closed
	j.mu.Unlock()
	return JanitorInfo{Running: running, Rounds: j.rounds.Load(), Deleted: j.deleted.Load(), Errors: j.errs.Load()}
}

// sweep is one round: it deletes at most limit expired entries, taking the
// archives of the catalog in turn from where the last round stopped.
func (j *janitor) sweep(ctx context.Context, limit int) (int, error) {
	j.round.Lock()
	defer j.round.Unlock()
	n, err := j.sweepLocked(ctx, limit)
	j.rounds.Add(1)
	j.deleted.Add(uint64(n))
	if err != nil && ctx.Err() == nil {
		j.errs.Add(1)
		j.a.report.failed("expire", err)
	}
	return n, err
}

func (j *janitor) sweepLocked(ctx context.Context, limit int) (int, error) {
	infos, err := j.a.Tables(ctx)
	if err != nil {
		return 0, err
	}
	// Start with the first archive at or after next, in name order, so
	// that an archive with more expired entries than a round deletes does
	// not keep the others waiting.
	start := 0
	for start < len(infos) && infos[start].Name < j.next {
		start++
	}
	deleted := 0
	now := j.a.now()
	for i := range infos {
		info := infos[(start+i)%len(infos)]
		if info.Err != nil || dialect.ValidateTableName(info.Table) != nil {
			continue // a broken catalog row: Tables lists it, nothing deletes from it
		}
		n, err := deleteExpired(ctx, j.a.db, j.a.d, info.Table, now, limit-deleted)
		deleted += n
		switch {
		case dialect.IsMissingTable(err):
			continue // dropped meanwhile
		case err != nil:
			j.next = info.Name
			return deleted, fmt.Errorf("sqlarchive: delete expired %q: %w", info.Name, err)
		}
		if deleted >= limit {
			// The archive may hold more: the next round goes on with the
			// one after it, and comes back to it in turn.
			j.next = ""
			if k := (start + i + 1) % len(infos); k != 0 {
				j.next = infos[k].Name
			}
			return deleted, nil
		}
	}
	j.next = ""
	return deleted, nil
}

// deleteExpired deletes at most limit entries of table that have expired
// both by now, the Archive's clock, and by the database's clock, the
// earliest expiries first, in one statement that the index on expires_at
// serves. Deleting the same rows twice, as two processes may, is harmless.
func deleteExpired(ctx context.Context, db *sql.DB, d *dialect.Dialect, table string, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	query, nargs := expireSQL(d, table, limit)
	args := make([]any, nargs)
	for i := range args {
		args[i] = d.TimeArg(now)
	}
	var n int64
	del := func() error {
		res, err := execExpire(ctx, db, d, query, args)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}
	// MySQL may choose one of two janitors deleting the same rows as the
	// victim of a deadlock, and roll its DELETE back: run it again.
	for attempt := 1; ; attempt++ {
		err := d.RetryBusy(ctx, del)
		if err == nil || !dialect.IsDeadlock(err) || attempt == deadlockAttempts {
			return int(n), err
		}
		timer := time.NewTimer(time.Duration(1+rand.IntN(10)) * time.Millisecond)
		select {
		case <-ctx.Done():
			timer.Stop()
			return 0, fmt.Errorf("%w (not retried: %w)", err, ctx.Err())
		case <-timer.C:
		}
	}
}

// deadlockAttempts is how many times deleteExpired runs a DELETE that
// MySQL rolls back as the victim of a deadlock.
const deadlockAttempts = 5

// expireSQL returns the DELETE of deleteExpired and how many arguments it
// takes, each the Archive's current time.
func expireSQL(d *dialect.Dialect, table string, limit int) (string, int) {
	c := d.QuoteIdent
	t := c(table)
	expired := c("expires_at") + " <= ? AND " + c("expires_at") + " <= " + d.Now()
	lim := " LIMIT " + strconv.Itoa(limit)
	switch d {
	case dialect.MySQL:
		return "DELETE FROM " + t + " WHERE " + expired + " ORDER BY " + c("expires_at") + lim, 1
	case dialect.Postgres:
		// SKIP LOCKED passes over rows that another janitor is deleting,
		// or a writer is writing, rather than waiting for them; the outer
		// condition is checked again on a row written meanwhile, so that
		// a row written again is not deleted.
		return d.Rebind("DELETE FROM " + t + " WHERE " + c("key_hash") + " IN (SELECT " + c("key_hash") + " FROM " + t +
			" WHERE " + expired + " ORDER BY " + c("expires_at") + lim + " FOR UPDATE SKIP LOCKED) AND " + expired), 2
	default:
		return "DELETE FROM " + t + " WHERE " + c("key_hash") + " IN (SELECT " + c("key_hash") + " FROM " + t +
			" WHERE " + expired + " ORDER BY " + c("expires_at") + lim + ")", 1
	}
}

// execExpire runs the DELETE of deleteExpired. On MySQL it runs in a READ
// COMMITTED transaction, which takes no gap locks, so that writes of new
// entries next to the expired ones do not wait for it.
func execExpire(ctx context.Context, db *sql.DB, d *dialect.Dialect, query string, args []any) (sql.Result, error) {
	if d != dialect.MySQL {
		return db.ExecContext(ctx, query, args...)
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return nil, err
	}
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, errors.Join(err, tx.Rollback())
	}
	return res, tx.Commit()
}

// DeleteExpired does one round of the janitor (see Options.ExpireInterval)
// now: it deletes at most limit entries that have expired, from the tables
// of the archives of the catalog, taking them in turn from where the last
// round stopped, and returns how many it deleted. An entry is deleted only
// once it has expired both by Options.Clock, which Get checks, and by the
// database's clock, the earliest expiries of each table first.
// DeleteExpired may run while the janitor runs, and rounds of several
// Archives, in one process or many, may run at once. It returns an error
// wrapping ErrInvalidOptions if limit is not positive.
func (a *Archive) DeleteExpired(ctx context.Context, limit int) (int, error) {
	if err := a.check(); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, errmark.Errorf(ErrInvalidOptions, "sqlarchive: delete expired: limit %d is not positive", limit)
	}
	return a.janitor.sweep(ctx, limit)
}

// JanitorInfo returns figures about the janitor of the Archive and the
// rounds of DeleteExpired.
func (a *Archive) JanitorInfo() JanitorInfo { return a.janitor.info() }

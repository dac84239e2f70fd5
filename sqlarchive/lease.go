package sqlarchive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqltable"
)

// Defaults of leases (see MemoizeOptions).
const (
	// DefaultLeaseTTL is how long a lease lasts unless renewed: a process
	// killed while computing holds the others up no longer than this.
	DefaultLeaseTTL = 5 * time.Second

	// DefaultLeaseWait is how long a process waits for another to compute
	// a key before computing it itself.
	DefaultLeaseWait = 30 * time.Second
)

// Polls of a process waiting for a lease: the first after firstLeasePoll,
// each one twice as long after the previous, up to maxLeasePoll.
const (
	firstLeasePoll = time.Millisecond
	maxLeasePoll   = 25 * time.Millisecond
)

// releaseTimeout bounds a statement that releases leases, which runs after
// the calls that held them returned.
const releaseTimeout = 10 * time.Second

// maxReleases is the most leases one statement releases.
const maxReleases = 100

// releaseLinger is how long the releaser collects released leases before
// it releases them in one statement: a write less for most misses, on
// servers a commit less, on SQLite a turn at the write lock less.
const releaseLinger = 25 * time.Millisecond

// releaseGrace is how long a released lease lasts. Released at once, it
// could be taken by a process whose acquiring statement had read the table
// before the value was stored, and waited for the release: PostgreSQL
// checks that the value is absent on the statement's snapshot. With the
// grace, that statement finds the lease held instead, and its process
// reads the value.
const releaseGrace = 100 * time.Millisecond

// sweepEvery is how often a leaser deletes the leases that expired more
// than sweepAge ago: released leases stay as rows until then.
const (
	sweepEvery = time.Minute
	sweepAge   = time.Minute
)

// leaser takes, renews and releases the leases of one database, in the
// table klepto_leases. A lease is a row, inserted if absent or expired,
// whose expiry is on the database's clock: it needs no session state, so
// each statement may run on any connection of a pool. Releasing a lease
// expires it soon (releaseGrace), and sweep deletes old expired leases.
type leaser struct {
	db        *sql.DB
	d         *dialect.Dialect
	follower  *follower
	noPrepare bool      // Options.NoPrepare
	report    *reporter // of failed releases
	prefix    string    // of every holder: host, pid and a random number
	n         atomic.Uint64
	swept     atomic.Int64 // when sweep last ran, in Unix nanoseconds

	mu        sync.Mutex // guards following fields
	sql       map[string]*leaseSQL
	closed    bool
	releasing bool      // the releaser goroutine runs
	released  []release // leases to release
	idle      chan struct{}
}

// release is a lease to release: the key hash and holder of a lease of a
// table.
type release struct {
	table  string
	hash   []byte
	holder string
}

// leaseSQL are the statements on the leases of one archive table,
// prepared once (unless Options.NoPrepare), so that each runs in one round
// trip.
type leaseSQL struct {
	// acquire inserts a lease unless the value exists (args: table, hash,
	// holder, duration, hash, now), and on SQLite and PostgreSQL takes
	// over an expired lease.
	acquire *leaseStmt
	// takeover takes over an expired lease on MySQL (args: holder,
	// duration, table, hash); nil elsewhere.
	takeover *leaseStmt
	renew    *leaseStmt // args: duration, table, hash, holder
	release  *leaseStmt // args: grace, table, hash, holder
	// releaseMany releases maxReleases leases (args: grace, table,
	// maxReleases hashes, then their holders); a batch of fewer repeats
	// its first lease. Holders are unique, so matching the hashes and the
	// holders as two lists matches each lease by both.
	releaseMany *leaseStmt
}

// close closes the statements.
func (s *leaseSQL) close() error {
	var errs []error
	for _, st := range []*leaseStmt{s.acquire, s.takeover, s.renew, s.release, s.releaseMany} {
		if st != nil && st.ps != nil {
			errs = append(errs, st.ps.Close())
		}
	}
	return errors.Join(errs...)
}

// leaseStmt is a statement on leases: prepared, or with Options.NoPrepare
// sent as SQL on the pool each time.
type leaseStmt struct {
	db    *sql.DB
	query string
	ps    *sql.Stmt // nil with Options.NoPrepare
}

// ExecContext runs the statement.
func (s *leaseStmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	if s.ps != nil {
		return s.ps.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, s.query, args...)
}

func newLeaser(db *sql.DB, d *dialect.Dialect, f *follower) *leaser {
	host, _ := os.Hostname()
	return &leaser{
		db:       db,
		d:        d,
		follower: f,
		prefix:   fmt.Sprintf("%s/%d/%x/", host, os.Getpid(), rand.Uint32()),
		sql:      make(map[string]*leaseSQL),
	}
}

// statements returns the statements of the leases of table, prepared on
// first use.
func (l *leaser) statements(ctx context.Context, table string) (*leaseSQL, error) {
	l.mu.Lock()
	s, ok := l.sql[table]
	closed := l.closed
	l.mu.Unlock()
	switch {
	case ok:
		return s, nil
	case closed:
		return nil, ErrClosed
	}
	d := l.d
	c := d.QuoteIdent
	leases := c(migrations.LeasesTable)
	cols := c("table_name") + ", " + c("key_hash") + ", " + c("holder") + ", " + c("expires_at")
	values := "?, ?, ?, "
	if d == dialect.Postgres {
		// Parameters in a SELECT list have no type to take from a column.
		values = "CAST(? AS text), CAST(? AS bytea), CAST(? AS text), "
	}
	absent := " WHERE NOT EXISTS (SELECT 1 FROM " + c(table) + " WHERE " + c("key_hash") + " = ? AND (" +
		c("expires_at") + " IS NULL OR " + c("expires_at") + " > ?))"
	mine := " WHERE " + c("table_name") + " = ? AND " + c("key_hash") + " = ?"
	insert := "INSERT INTO " + leases + " (" + cols + ") SELECT " + values + d.NowPlus()
	many := strings.TrimSuffix(strings.Repeat("?, ", maxReleases), ", ")
	s = new(leaseSQL)
	type prepare struct {
		stmt  **leaseStmt
		query string
	}
	queries := []prepare{
		{&s.renew, "UPDATE " + leases + " SET " + c("expires_at") + " = " + d.NowPlus() + mine + " AND " + c("holder") + " = ?"},
		{&s.release, "UPDATE " + leases + " SET " + c("expires_at") + " = " + d.NowPlus() + mine + " AND " + c("holder") + " = ?"},
		{&s.releaseMany, "UPDATE " + leases + " SET " + c("expires_at") + " = " + d.NowPlus() + " WHERE " + c("table_name") + " = ? AND " +
			c("key_hash") + " IN (" + many + ") AND " + c("holder") + " IN (" + many + ")"},
	}
	if d == dialect.MySQL {
		queries = append(queries,
			prepare{&s.acquire, insert + " FROM DUAL" + absent},
			prepare{&s.takeover, "UPDATE " + leases + " SET " + c("holder") + " = ?, " + c("expires_at") + " = " +
				d.NowPlus() + mine + " AND " + c("expires_at") + " < " + d.Now()})
	} else {
		queries = append(queries, prepare{&s.acquire, insert + absent +
			" ON CONFLICT (" + c("table_name") + ", " + c("key_hash") + ") DO UPDATE SET " +
			c("holder") + " = excluded." + c("holder") + ", " + c("expires_at") + " = excluded." + c("expires_at") +
			" WHERE " + leases + "." + c("expires_at") + " < " + d.Now()})
	}
	for _, q := range queries {
		st := &leaseStmt{db: l.db, query: d.Rebind(q.query)}
		*q.stmt = st
		if l.noPrepare {
			continue
		}
		var err error
		if st.ps, err = l.db.PrepareContext(ctx, st.query); err != nil {
			return nil, errors.Join(feedError(fmt.Errorf("prepare the statements of leases: %w", err)), s.close())
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch prev, ok := l.sql[table]; {
	case ok: // prepared meanwhile by another call
		return prev, s.close()
	case l.closed:
		return nil, errors.Join(ErrClosed, s.close())
	}
	l.sql[table] = s
	return s, nil
}

// acquire takes the lease of key in table for holder, for ttl, unless
// another holder has a lease that has not expired or the table has a live
// value for key at now (the table's clock). It reports whether it took it,
// and returns the statements of the table's leases.
func (l *leaser) acquire(ctx context.Context, table string, key keymap.Key, holder string, ttl time.Duration, now any) (*leaseSQL, bool, error) {
	s, err := l.statements(ctx, table)
	if err != nil {
		return nil, false, err
	}
	var got bool
	err = l.d.RetryConflict(ctx, conflictRetries, func() error {
		res, err := s.acquire.ExecContext(ctx, table, key.Hash[:], holder, l.d.DurationArg(ttl), key.Hash[:], now)
		if s.takeover != nil && dialect.IsUniqueViolation(err) {
			res, err = s.takeover.ExecContext(ctx, holder, l.d.DurationArg(ttl), table, key.Hash[:])
		}
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		got = n == 1
		return err
	})
	if err != nil {
		return nil, false, feedError(err)
	}
	return s, got, nil
}

// hold keeps the lease r renewed, with the statements s, until the
// returned func is called, which queues its release: a goroutine releases
// the leases queued, many in one statement, so that releasing adds nothing
// to the call that held the lease. Processes waiting for the lease read the
// value the holder stored before it released the lease.
func (l *leaser) hold(s *leaseSQL, r release, ttl time.Duration) func() {
	var mu sync.Mutex // held while renewing, so that release waits for a renewal
	stopped := false
	var timer *time.Timer
	mu.Lock() // until timer is set
	defer mu.Unlock()
	timer = time.AfterFunc(ttl/3, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), ttl/3)
		defer cancel()
		// After a failure, such as a database busy for a while, renew again
		// soon: a lease not renewed expires, and another process may then
		// compute too, which costs time, not correctness.
		_, err := s.renew.ExecContext(ctx, l.d.DurationArg(ttl), r.table, r.hash, r.holder)
		next := ttl/3 - time.Since(start)
		if err != nil {
			next = 0
		}
		timer.Reset(max(next, ttl/30))
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			stopped = true
			timer.Stop()
			mu.Unlock()
			l.release(r)
		})
	}
}

// release queues r, and starts the releaser unless it runs. After close,
// leases are left to expire.
func (l *leaser) release(r release) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.released = append(l.released, r)
	if !l.releasing {
		l.releasing = true
		l.idle = make(chan struct{})
		go l.releaser()
	}
}

// releaser releases the leases queued, until none are left.
func (l *leaser) releaser() {
	for {
		time.Sleep(releaseLinger)
		l.mu.Lock()
		batch := l.released[:min(len(l.released), maxReleases)]
		l.released = l.released[len(batch):]
		if len(batch) == 0 {
			l.releasing = false
			close(l.idle)
			l.mu.Unlock()
			return
		}
		stmts := make(map[string]*leaseSQL)
		for _, r := range batch {
			stmts[r.table] = l.sql[r.table]
		}
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
		// A failed release leaves the leases to expire: the processes
		// waiting for them wait until then, so it is reported.
		if err := l.releaseAll(ctx, batch, stmts); err != nil {
			l.report.failed("release leases", fmt.Errorf("sqlarchive: release %d leases: %w", len(batch), err))
		}
		l.sweep(ctx)
		cancel()
	}
}

// releaseAll releases the leases of batch, at most maxReleases, with the
// statements of their tables: one statement per table.
func (l *leaser) releaseAll(ctx context.Context, batch []release, stmts map[string]*leaseSQL) error {
	grace := l.d.DurationArg(releaseGrace)
	if len(batch) == 1 {
		r := batch[0]
		return l.d.RetryConflict(ctx, conflictRetries, func() error {
			_, err := stmts[r.table].release.ExecContext(ctx, grace, r.table, r.hash, r.holder)
			return err
		})
	}
	var errs []error
	args := make([]any, 2+2*maxReleases)
	for table, s := range stmts {
		args[0], args[1] = grace, table
		hashes, holders := args[2:2+maxReleases], args[2+maxReleases:]
		n := 0
		for _, r := range batch {
			if r.table == table {
				hashes[n], holders[n] = r.hash, r.holder
				n++
			}
		}
		for i := n; i < maxReleases; i++ {
			hashes[i], holders[i] = hashes[0], holders[0]
		}
		errs = append(errs, l.d.RetryConflict(ctx, conflictRetries, func() error {
			_, err := s.releaseMany.ExecContext(ctx, args...)
			return err
		}))
	}
	return errors.Join(errs...)
}

// sweep deletes the leases that expired more than sweepAge ago, unless it
// did so less than sweepEvery ago. It is best effort.
func (l *leaser) sweep(ctx context.Context) {
	now := time.Now().UnixNano()
	last := l.swept.Load()
	if now-last < int64(sweepEvery) || !l.swept.CompareAndSwap(last, now) {
		return
	}
	c := l.d.QuoteIdent
	query := l.d.Rebind("DELETE FROM " + c(migrations.LeasesTable) + " WHERE " + c("expires_at") + " < " + l.d.NowPlus())
	_, _ = l.db.ExecContext(ctx, query, l.d.DurationArg(-sweepAge))
}

// close waits for the releaser to delete the leases queued, and closes
// the statements; leases released later are left to expire.
func (l *leaser) close() error {
	l.mu.Lock()
	l.closed = true
	idle := l.idle
	releasing := l.releasing
	l.mu.Unlock()
	if releasing {
		<-idle
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for table, s := range l.sql {
		errs = append(errs, s.close())
		delete(l.sql, table)
	}
	return errors.Join(errs...)
}

// holder returns a new holder name, unique across processes and hosts.
func (l *leaser) holder() string {
	return l.prefix + strconv.FormatUint(l.n.Add(1), 10)
}

// leaseOptions are the lease settings of one memo.
type leaseOptions struct {
	ttl, wait time.Duration
}

// lease implements cache.Leaser for the archive table t, whose clock is
// now: it takes the lease of key, or waits for its holder's result, or for
// its lease to be free, until o.wait has passed.
func lease[R any](ctx context.Context, l *leaser, t *sqltable.Table[R], now func() time.Time, key keymap.Key, o leaseOptions) (cache.Lease[R], error) {
	holder := l.holder()
	tryLease := func() (cache.Lease[R], bool, error) {
		s, got, err := l.acquire(ctx, t.Name(), key, holder, o.ttl, l.d.TimeArg(now()))
		if err != nil || !got {
			return cache.Lease[R]{}, false, err
		}
		return cache.Lease[R]{Release: l.hold(s, release{t.Name(), key.Hash[:], holder}, o.ttl)}, true, nil
	}
	if got, ok, err := tryLease(); ok || err != nil {
		return got, err
	}
	// Another process holds the lease, or stored the value meanwhile.
	deadline := time.Now().Add(o.wait)
	delay := firstLeasePoll
	for {
		v, expires, found, err := t.GetExpiry(ctx, key)
		if err == nil && found {
			return cache.Lease[R]{Found: true, Entry: cache.Entry[R]{Key: key, Value: v, ExpiresAt: expires}}, nil
		}
		if err == nil {
			if got, ok, lerr := tryLease(); ok {
				return got, nil
			} else if lerr != nil {
				err = lerr
			}
		}
		if ctx.Err() != nil {
			return cache.Lease[R]{}, fmt.Errorf("wait: %w", context.Cause(ctx))
		}
		// A database that fails keeps the process waiting, as its holder
		// may still finish, until the wait is over.
		if !time.Now().Before(deadline) {
			return cache.Lease[R]{}, nil
		}
		timer := time.NewTimer(min(delay, time.Until(deadline)))
		select {
		case <-ctx.Done():
			timer.Stop()
			return cache.Lease[R]{}, fmt.Errorf("wait: %w", context.Cause(ctx))
		case <-l.follower.leaseWake():
		case <-timer.C:
		}
		timer.Stop()
		delay = min(2*delay, maxLeasePoll)
	}
}

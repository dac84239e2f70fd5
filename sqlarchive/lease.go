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
const maxReleases = 128

// releaseSizes is the number of sizes of statements releasing many leases:
// 2, 4, 8, ... maxReleases. A batch is released by the smallest that holds
// it, so that a statement binds at most twice the parameters it needs (a
// list of maxReleases costs SQLite about as much as a write when most of
// it repeats one lease).
const releaseSizes = 7

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

// releaseHead returns the start of a statement releasing leases, which
// goes on with a WHERE clause; its first argument, on the servers, is the
// grace (see releaseArgs). On the servers a release ends the lease after
// releaseGrace, and sweep deletes it later. SQLite deletes the lease at
// once: its writes are serial, and a statement that writes reads the
// latest state, so the acquiring statement that runs after the release
// also runs after the value was stored, and finds it. The table of leases
// then holds only the leases held, which makes its writes cheaper.
func (l *leaser) releaseHead() string {
	c := l.d.QuoteIdent
	if l.d == dialect.SQLite {
		return "DELETE FROM " + c(migrations.LeasesTable) + " WHERE "
	}
	return "UPDATE " + c(migrations.LeasesTable) + " SET " + c("expires_at") + " = " + l.d.NowPlus() + " WHERE "
}

// releaseArgs appends to args the arguments releaseHead takes.
func (l *leaser) releaseArgs(args []any) []any {
	if l.d == dialect.SQLite {
		return args
	}
	return append(args, l.d.DurationArg(releaseGrace))
}

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
// expires it soon (releaseGrace), or deletes it on SQLite (releaseHead),
// and sweep deletes old expired leases.
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
	held      *heldLease    // the leases held, a list linked by next
	renewing  bool          // the renewer goroutine runs
	renewAt   time.Time     // when the renewer looks next, unless woken
	renewWake chan struct{} // wakes the renewer
	renewDone chan struct{} // closed when the renewer ends
	releasing bool          // the releaser goroutine runs
	released  []release     // leases to release
	idle      chan struct{}
}

// release is a lease to release: the key hash ([]byte) and holder
// (string) of a lease of a table, as the statement arguments they become,
// so that each is converted to an interface once.
type release struct {
	table  string
	hash   any
	holder any
}

// leaseSQL are the statements on the leases of one archive table,
// prepared once (unless Options.NoPrepare), so that each runs in one round
// trip.
type leaseSQL struct {
	table any // the table's name, as a statement argument
	// acquire inserts a lease unless the value exists (args: table, hash,
	// holder, duration, hash, now), and on SQLite and PostgreSQL takes
	// over an expired lease.
	acquire *leaseStmt
	// takeover takes over an expired lease on MySQL, if the value is
	// still absent (args: holder, duration, table, hash, hash, now); nil
	// elsewhere.
	takeover *leaseStmt
	renew    *leaseStmt // args: duration, table, hash, holder
	release  *leaseStmt // args: releaseArgs, table, hash, holder
	// releaseMany[i] releases 2<<i leases (args: releaseArgs, table, the
	// hashes, then their holders); a batch of fewer repeats its first
	// lease. Holders are unique, so matching the hashes and the holders as
	// two lists matches each lease by both. Each is prepared on first use,
	// by the releaser, the only goroutine that uses them.
	releaseMany [releaseSizes]*leaseStmt
}

// close closes the statements.
func (s *leaseSQL) close() error {
	var errs []error
	for _, st := range append([]*leaseStmt{s.acquire, s.takeover, s.renew, s.release}, s.releaseMany[:]...) {
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
	s = &leaseSQL{table: table}
	type prepare struct {
		stmt  **leaseStmt
		query string
	}
	queries := []prepare{
		{&s.renew, "UPDATE " + leases + " SET " + c("expires_at") + " = " + d.NowPlus() + mine + " AND " + c("holder") + " = ?"},
		{&s.release, l.releaseHead() + c("table_name") + " = ? AND " + c("key_hash") + " = ? AND " + c("holder") + " = ?"},
	}
	if d == dialect.MySQL {
		queries = append(queries,
			prepare{&s.acquire, insert + " FROM DUAL" + absent},
			// The takeover checks again that the value is absent: the
			// insert that failed may have waited for the holder's release,
			// which follows its value.
			prepare{&s.takeover, "UPDATE " + leases + " SET " + c("holder") + " = ?, " + c("expires_at") + " = " +
				d.NowPlus() + mine + " AND " + c("expires_at") + " < " + d.Now() + " AND NOT EXISTS (SELECT 1 FROM " + c(table) +
				" WHERE " + c("key_hash") + " = ? AND (" + c("expires_at") + " IS NULL OR " + c("expires_at") + " > ?))"})
	} else {
		queries = append(queries, prepare{&s.acquire, insert + absent +
			" ON CONFLICT (" + c("table_name") + ", " + c("key_hash") + ") DO UPDATE SET " +
			c("holder") + " = excluded." + c("holder") + ", " + c("expires_at") + " = excluded." + c("expires_at") +
			" WHERE " + leases + "." + c("expires_at") + " < " + d.Now()})
	}
	for _, q := range queries {
		var err error
		if *q.stmt, err = l.prepare(ctx, q.query); err != nil {
			return nil, errors.Join(err, s.close())
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

// prepare returns the statement query, prepared unless Options.NoPrepare.
func (l *leaser) prepare(ctx context.Context, query string) (*leaseStmt, error) {
	st := &leaseStmt{db: l.db, query: l.d.Rebind(query)}
	if l.noPrepare {
		return st, nil
	}
	var err error
	if st.ps, err = l.db.PrepareContext(ctx, st.query); err != nil {
		return nil, feedError(fmt.Errorf("prepare the statements of leases: %w", err))
	}
	return st, nil
}

// releaseMany returns the statement of s that releases 2<<i leases of
// table, prepared on first use.
func (l *leaser) releaseMany(ctx context.Context, s *leaseSQL, table string, i int) (*leaseStmt, error) {
	if st := s.releaseMany[i]; st != nil {
		return st, nil
	}
	c := l.d.QuoteIdent
	many := strings.TrimSuffix(strings.Repeat("?, ", 2<<i), ", ")
	st, err := l.prepare(ctx, l.releaseHead()+c("table_name")+" = ? AND "+c("key_hash")+" IN ("+many+") AND "+
		c("holder")+" IN ("+many+")")
	if err != nil {
		return nil, fmt.Errorf("table %q: %w", table, err)
	}
	s.releaseMany[i] = st
	return st, nil
}

// acquire takes the lease of key in table for holder, for ttl, unless
// another holder has a lease that has not expired or the table has a live
// value for key at now (the table's clock). It reports whether it took it,
// and returns the statements of the table's leases.
func (l *leaser) acquire(ctx context.Context, table string, key keymap.Key, holder string, ttl time.Duration, now any) (*leaseSQL, bool, error) {
	return l.acquireArg(ctx, table, key.Hash[:], holder, l.d.DurationArg(ttl), now)
}

// acquireArg is acquire with the key's hash, and the ttl as
// Dialect.DurationArg makes it: each argument is converted to an
// interface once.
func (l *leaser) acquireArg(ctx context.Context, table string, hash any, holder, ttl, now any) (*leaseSQL, bool, error) {
	s, err := l.statements(ctx, table)
	if err != nil {
		return nil, false, err
	}
	var got bool
	err = l.d.RetryConflict(ctx, conflictRetries, func() error {
		res, err := s.acquire.ExecContext(ctx, s.table, hash, holder, ttl, hash, now)
		if s.takeover != nil && dialect.IsUniqueViolation(err) {
			res, err = s.takeover.ExecContext(ctx, holder, ttl, s.table, hash, hash, now)
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

// heldLease is a lease held: hold links it into its leaser's list of
// leases held, which the renewer renews, until it is released.
type heldLease struct {
	s   *leaseSQL
	r   release
	ttl time.Duration

	// Guarded by the leaser's mu.
	due        time.Time // when to renew the lease next
	prev, next *heldLease

	mu      sync.Mutex // held while renewing, so that release waits for a renewal
	stopped bool       // released; guarded by mu
}

// hold keeps the lease r renewed, with the statements s, until the
// returned func is called, which queues its release: a goroutine releases
// the leases queued, many in one statement, so that releasing adds nothing
// to the call that held the lease. Processes waiting for the lease read the
// value the holder stored before it released the lease. One goroutine per
// leaser, the renewer, renews every lease held a third of its ttl after it
// was taken or last renewed: a lease held for less costs no timer.
func (l *leaser) hold(s *leaseSQL, r release, ttl time.Duration) func() {
	h := &heldLease{s: s, r: r, ttl: ttl, due: time.Now().Add(ttl / 3)}
	l.mu.Lock()
	defer l.mu.Unlock()
	h.next = l.held
	if l.held != nil {
		l.held.prev = h
	}
	l.held = h
	switch {
	case l.closed:
	case !l.renewing:
		l.renewing = true
		l.renewWake, l.renewDone = make(chan struct{}, 1), make(chan struct{})
		go l.renewer(l.renewWake, l.renewDone)
	case h.due.Before(l.renewAt):
		select {
		case l.renewWake <- struct{}{}:
		default:
		}
	}
	return func() { l.unhold(h) }
}

// unhold stops renewing h, waiting for a renewal under way, and queues its
// release. Only its first call does anything.
func (l *leaser) unhold(h *heldLease) {
	h.mu.Lock()
	stopped := h.stopped
	h.stopped = true
	h.mu.Unlock()
	if stopped {
		return
	}
	l.mu.Lock()
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		l.held = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	}
	h.prev, h.next = nil, nil
	l.mu.Unlock()
	l.release(h.r)
}

// renewIdle is how long the renewer waits, with no lease held, before it
// ends; the next lease held starts another.
const renewIdle = time.Second

// renewer renews the leases held when they are due, until the leaser is
// closed or no lease was held for renewIdle. A send on wake makes it look
// again at when the next renewal is due; done is closed when it ends.
func (l *leaser) renewer(wake, done chan struct{}) {
	defer close(done)
	timer := time.NewTimer(renewIdle)
	defer timer.Stop()
	idle := false
	var due []*heldLease
	for {
		l.mu.Lock()
		now := time.Now()
		next := now.Add(renewIdle)
		due = due[:0]
		for h := l.held; h != nil; h = h.next {
			if !h.due.After(now) {
				due = append(due, h)
				// Not renewed twice while this renewal runs.
				h.due = now.Add(h.ttl / 3)
			}
			if h.due.Before(next) {
				next = h.due
			}
		}
		if l.closed || (l.held == nil && idle) {
			l.renewing = false
			l.mu.Unlock()
			return
		}
		idle = l.held == nil
		l.renewAt = next
		l.mu.Unlock()
		for _, h := range due {
			if err := l.renew(h); err != nil {
				l.report.failed("renew lease", err)
			}
		}
		if len(due) > 0 {
			continue // renewals take time: look again at what is due
		}
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case <-wake:
			idle = false
		}
	}
}

// renew renews h unless it was released, and sets when it is due next.
// After a failure, such as a database busy for a while, it renews again
// soon, and returns the error: a lease not renewed expires, and another
// process may then compute too, which costs time, not correctness.
func (l *leaser) renew(h *heldLease) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), h.ttl/3)
	defer cancel()
	_, err := h.s.renew.ExecContext(ctx, l.d.DurationArg(h.ttl), h.r.table, h.r.hash, h.r.holder)
	next := start.Add(h.ttl / 3)
	if err != nil {
		next = time.Now().Add(h.ttl / 30)
		err = fmt.Errorf("sqlarchive: renew a lease on %v: %w", h.r.table, err)
	}
	l.mu.Lock()
	h.due = next
	l.mu.Unlock()
	return err
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
	head := l.releaseArgs(nil)
	if len(batch) == 1 {
		r := batch[0]
		args := append(head, r.table, r.hash, r.holder)
		return l.d.RetryConflict(ctx, conflictRetries, func() error {
			_, err := stmts[r.table].release.ExecContext(ctx, args...)
			return err
		})
	}
	var errs []error
	all := make([]any, len(head)+1+2*maxReleases)
	for table, s := range stmts {
		n := 0
		for _, r := range batch {
			if r.table == table {
				n++
			}
		}
		i := 0
		for 2<<i < n {
			i++
		}
		size := 2 << i
		st, err := l.releaseMany(ctx, s, table, i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		args := append(append(all[:0], head...), table)
		k := len(args)
		args = args[:k+2*size]
		hashes, holders := args[k:k+size], args[k+size:]
		n = 0
		for _, r := range batch {
			if r.table == table {
				hashes[n], holders[n] = r.hash, r.holder
				n++
			}
		}
		for i := n; i < size; i++ {
			hashes[i], holders[i] = hashes[0], holders[0]
		}
		errs = append(errs, l.d.RetryConflict(ctx, conflictRetries, func() error {
			_, err := st.ExecContext(ctx, args...)
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

// close stops the renewer, waits for the releaser to release the leases
// queued, and closes the statements; leases held are no longer renewed,
// and leases released later are left to expire.
func (l *leaser) close() error {
	l.mu.Lock()
	l.closed = true
	renewing, renewDone := l.renewing, l.renewDone
	if renewing {
		select {
		case l.renewWake <- struct{}{}:
		default:
		}
	}
	idle := l.idle
	releasing := l.releasing
	l.mu.Unlock()
	if renewing {
		<-renewDone
	}
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
	ttlArg    any // ttl as a statement argument (Dialect.DurationArg)
}

// lease implements cache.Leaser for the archive table t, whose clock is
// now: it takes the lease of key, or waits for its holder's result, or for
// its lease to be free, until o.wait has passed.
func lease[R any](ctx context.Context, l *leaser, t *sqltable.Table[R], now func() time.Time, key keymap.Key, o leaseOptions) (cache.Lease[R], error) {
	hashArg, holderArg := any(key.Hash[:]), any(l.holder())
	tryLease := func() (cache.Lease[R], bool, error) {
		s, got, err := l.acquireArg(ctx, t.Name(), hashArg, holderArg, o.ttlArg, l.d.TimeArg(now()))
		if err != nil || !got {
			return cache.Lease[R]{}, false, err
		}
		return cache.Lease[R]{Release: l.hold(s, release{t.Name(), hashArg, holderArg}, o.ttl)}, true, nil
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

package sqlarchive

import (
	"context"
	"database/sql"
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

// leaser takes, renews and releases the leases of one database, in the
// table klepto_leases. A lease is a row, inserted if absent or expired,
// whose expiry is on the database's clock: it needs no session state, so
// each statement may run on any connection of a pool.
type leaser struct {
	db       *sql.DB
	d        *dialect.Dialect
	follower *follower
	prefix   string // of every holder: host, pid and a random number
	n        atomic.Uint64

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

// leaseSQL are the statements on the leases of one archive table.
type leaseSQL struct {
	// acquire inserts a lease unless the value exists (args: table, hash,
	// holder, duration, hash, now), and on SQLite and PostgreSQL takes
	// over an expired lease.
	acquire string
	// takeover takes over an expired lease on MySQL (args: holder,
	// duration, table, hash).
	takeover string
	renew    string // args: duration, table, hash, holder
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

// statements returns the statements of the leases of table.
func (l *leaser) statements(table string) *leaseSQL {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.sql[table]; ok {
		return s
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
	s := &leaseSQL{
		renew: d.Rebind("UPDATE " + leases + " SET " + c("expires_at") + " = " + d.NowPlus() + mine + " AND " + c("holder") + " = ?"),
	}
	insert := "INSERT INTO " + leases + " (" + cols + ") SELECT " + values + d.NowPlus()
	if d == dialect.MySQL {
		s.acquire = insert + " FROM DUAL" + absent
		s.takeover = "UPDATE " + leases + " SET " + c("holder") + " = ?, " + c("expires_at") + " = " + d.NowPlus() +
			mine + " AND " + c("expires_at") + " < " + d.Now()
	} else {
		excluded := "excluded."
		s.acquire = d.Rebind(insert + absent + " ON CONFLICT (" + c("table_name") + ", " + c("key_hash") + ") DO UPDATE SET " +
			c("holder") + " = " + excluded + c("holder") + ", " + c("expires_at") + " = " + excluded + c("expires_at") +
			" WHERE " + leases + "." + c("expires_at") + " < " + d.Now())
	}
	l.sql[table] = s
	return s
}

// acquire takes the lease of key in table for holder, for ttl, unless
// another holder has a lease that has not expired or the table has a live
// value for key at now (the table's clock). It reports whether it took it.
func (l *leaser) acquire(ctx context.Context, table string, key keymap.Key, holder string, ttl time.Duration, now any) (bool, error) {
	s := l.statements(table)
	res, err := l.db.ExecContext(ctx, s.acquire, table, key.Hash[:], holder, l.d.DurationArg(ttl), key.Hash[:], now)
	if l.d == dialect.MySQL && dialect.IsUniqueViolation(err) {
		res, err = l.db.ExecContext(ctx, s.takeover, holder, l.d.DurationArg(ttl), table, key.Hash[:])
	}
	if err != nil {
		return false, feedError(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// hold keeps the lease of key in table renewed until the returned release
// func is called, which then queues its release: a goroutine of the leaser
// deletes the leases queued, many in one statement, so that releasing adds
// nothing to the call that held the lease.
func (l *leaser) hold(table string, key keymap.Key, holder string, ttl time.Duration) func() {
	s := l.statements(table)
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		ticker := time.NewTicker(ttl / 3)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ticker.C:
				ctx, cancel := context.WithTimeout(context.Background(), ttl/3)
				// A failed renewal leaves the lease to expire: another
				// process may then compute too, which costs time, not
				// correctness.
				_, _ = l.db.ExecContext(ctx, s.renew, l.d.DurationArg(ttl), table, key.Hash[:], holder)
				cancel()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-renewed
			l.release(release{table, key.Hash[:], holder})
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

// releaser deletes the leases queued, until none are left.
func (l *leaser) releaser() {
	for {
		l.mu.Lock()
		batch := l.released[:min(len(l.released), maxReleases)]
		l.released = l.released[len(batch):]
		if len(batch) == 0 {
			l.releasing = false
			close(l.idle)
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
		// A failed release leaves the leases to expire.
		_, _ = l.db.ExecContext(ctx, l.releaseSQL(len(batch)), releaseArgs(batch)...)
		cancel()
	}
}

// releaseSQL returns the statement that deletes n leases, given by
// releaseArgs.
func (l *leaser) releaseSQL(n int) string {
	c := l.d.QuoteIdent
	rows := make([]string, n)
	for i := range rows {
		rows[i] = "(?, ?, ?)"
	}
	return l.d.Rebind("DELETE FROM " + c(migrations.LeasesTable) + " WHERE (" + c("table_name") + ", " + c("key_hash") + ", " +
		c("holder") + ") IN (" + strings.Join(rows, ", ") + ")")
}

func releaseArgs(batch []release) []any {
	args := make([]any, 0, 3*len(batch))
	for _, r := range batch {
		args = append(args, r.table, r.hash, r.holder)
	}
	return args
}

// close waits for the releaser to delete the leases queued; leases
// released later are left to expire.
func (l *leaser) close() {
	l.mu.Lock()
	l.closed = true
	idle := l.idle
	releasing := l.releasing
	l.mu.Unlock()
	if releasing {
		<-idle
	}
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
		got, err := l.acquire(ctx, t.Name(), key, holder, o.ttl, l.d.TimeArg(now()))
		if err != nil || !got {
			return cache.Lease[R]{}, false, err
		}
		return cache.Lease[R]{Release: l.hold(t.Name(), key, holder, o.ttl)}, true, nil
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

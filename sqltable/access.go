package sqltable

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
)

// Defaults of [AccessLogOptions].
const (
	DefaultAccessFlushInterval = 2 * time.Second
	DefaultAccessMaxPending    = 65536
	DefaultAccessFlushTimeout  = 5 * time.Second
)

// accessBatchRows is how many keys one flush statement updates at most.
const accessBatchRows = 500

// AccessLogOptions configure [NewAccessLog]. A nil *AccessLogOptions and
// the zero value both mean the defaults.
type AccessLogOptions struct {
	// FlushInterval is how often the log writes the reads it holds to
	// their tables. Zero means DefaultAccessFlushInterval (2 s); negative
	// means never on a timer: only when MaxPending/2 keys wait, on Flush
	// and on Close.
	FlushInterval time.Duration

	// MaxPending is how many keys of one table the log holds between
	// flushes. A read of a key the log already holds adds to its count; a
	// read of another key when MaxPending keys wait is dropped, counted by
	// Dropped, rather than making the read wait. When half as many wait,
	// the log flushes that table without waiting for FlushInterval. Zero
	// means DefaultAccessMaxPending (65,536); it must not be negative.
	MaxPending int

	// FlushTimeout bounds the flush of a Table's reads when the Table, or
	// the log, is closed. Zero means DefaultAccessFlushTimeout (5 s).
	FlushTimeout time.Duration

	// Observer, if set, receives the errors of the log's background
	// flushes, as a cache.Event of kind EventError, source SourceTable, op
	// "flush access", with Hidden set. Flush returns them too. Nil means
	// none.
	Observer cache.Observer
}

// AccessLog counts the reads of Tables in memory and writes them to the
// hits and accessed_at columns of their rows in batches, so that a read
// costs no statement of its own. A Table records in it when opened with
// [Options].AccessLog: each Get, GetExpiry or GetMany that finds an entry
// adds one to the entry's pending count and sets its pending access time
// (from Options.Clock). The log writes a table's pending counts with one
// UPDATE per 500 keys: hits grows by the count, and accessed_at becomes
// the latest access time if that is later than the one stored.
//
// The flush only updates rows that exist: it never creates a row (the
// reads of a key deleted meanwhile, or of a table dropped meanwhile, are
// lost, without an error), never changes a row's value,
// updated_at or expiry, and records nothing in the change feed, so it
// makes no memory stale. Reads whose flush fails are lost, as are those
// dropped when MaxPending keys wait, so hits is a lower bound of the reads
// made: exact once every process has flushed, unless Dropped counted some.
//
// NewAccessLog starts one goroutine, which Close stops. An AccessLog is
// safe for concurrent use, and may serve Tables of several databases.
type AccessLog struct {
	interval   time.Duration
	maxPending int
	timeout    time.Duration
	obs        cache.Observer

	dropped atomic.Int64
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}

	mu     sync.Mutex // guards following fields
	closed bool
	tables map[*accessBuffer]struct{}
	errs   []error // flush errors of the goroutine since the last Flush
}

// NewAccessLog returns an AccessLog, with its flushing goroutine started.
// opts may be nil. Close it when done: Close flushes what is pending.
// Options that are not valid are an error wrapping [ErrInvalidOptions].
func NewAccessLog(opts *AccessLogOptions) (*AccessLog, error) {
	var o AccessLogOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.MaxPending < 0:
		return nil, errmark.Errorf(ErrInvalidOptions, "sqltable: access log: negative MaxPending %d", o.MaxPending)
	case o.FlushTimeout < 0:
		return nil, errmark.Errorf(ErrInvalidOptions, "sqltable: access log: negative FlushTimeout %v", o.FlushTimeout)
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultAccessFlushInterval
	}
	if o.MaxPending == 0 {
		o.MaxPending = DefaultAccessMaxPending
	}
	if o.FlushTimeout == 0 {
		o.FlushTimeout = DefaultAccessFlushTimeout
	}
	l := &AccessLog{
		interval:   o.FlushInterval,
		maxPending: o.MaxPending,
		timeout:    o.FlushTimeout,
		obs:        o.Observer,
		kick:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		tables:     make(map[*accessBuffer]struct{}),
	}
	go l.run()
	return l, nil
}

// run flushes every interval, and when a table's buffer is half full,
// until Close.
func (l *AccessLog) run() {
	defer close(l.done)
	var tick <-chan time.Time
	if l.interval > 0 {
		t := time.NewTicker(l.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-l.stop:
			return
		case <-tick:
		case <-l.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
		err := l.flushAll(ctx)
		cancel()
		if err != nil && l.obs != nil {
			l.obs.Observe(cache.Event{Kind: cache.EventError, Source: cache.SourceTable, Op: "flush access", Count: 1, Err: err, Hidden: true})
		}
		if err != nil {
			l.mu.Lock()
			if len(l.errs) < 16 {
				l.errs = append(l.errs, err)
			}
			l.mu.Unlock()
		}
	}
}

// Flush writes every pending read to its table now, and returns the
// errors of this flush and of the background flushes that failed since
// the last call of Flush. Reads whose flush failed are not written again.
func (l *AccessLog) Flush(ctx context.Context) error {
	err := l.flushAll(ctx)
	l.mu.Lock()
	errs := append(l.errs, err)
	l.errs = nil
	l.mu.Unlock()
	return errors.Join(errs...)
}

// Dropped returns how many reads the log did not record because
// MaxPending keys of their table were waiting.
func (l *AccessLog) Dropped() int64 { return l.dropped.Load() }

// Close stops the goroutine and flushes what is pending, within
// FlushTimeout. Tables that record in the log must not be used after it
// is closed: their reads are no longer recorded. Closing twice is not an
// error.
func (l *AccessLog) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	return l.Flush(ctx)
}

// flushAll flushes the buffer of every table.
func (l *AccessLog) flushAll(ctx context.Context) error {
	l.mu.Lock()
	bufs := make([]*accessBuffer, 0, len(l.tables))
	for b := range l.tables {
		bufs = append(bufs, b)
	}
	l.mu.Unlock()
	var errs []error
	for _, b := range bufs {
		if err := b.flush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("sqltable %s: %w", b.name, err))
		}
	}
	return errors.Join(errs...)
}

// register adds the buffer of a table to the log. It fails once the log
// is closed.
func (l *AccessLog) register(b *accessBuffer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("the AccessLog is closed")
	}
	l.tables[b] = struct{}{}
	return nil
}

// unregister removes the buffer of a table, after flushing it within the
// log's FlushTimeout.
func (l *AccessLog) unregister(b *accessBuffer) error {
	l.mu.Lock()
	delete(l.tables, b)
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	return b.flush(ctx)
}

// access is the pending reads of one key.
type access struct {
	hits int64
	last time.Time
}

// accessBuffer holds the pending reads of one table.
type accessBuffer struct {
	log       *AccessLog
	name      string
	flushRows func(ctx context.Context, hashes [][32]byte, pending map[[32]byte]access) error

	flushing sync.Mutex // serializes flushes, so that counts are written in order

	mu      sync.Mutex // guards pending
	pending map[[32]byte]access
}

// hit records one read of the key whose hash is hash, at now. It never
// blocks on I/O.
func (b *accessBuffer) hit(hash [32]byte, now time.Time) {
	b.mu.Lock()
	a, ok := b.pending[hash]
	if !ok && len(b.pending) >= b.log.maxPending {
		b.mu.Unlock()
		b.log.dropped.Add(1)
		return
	}
	a.hits++
	if now.After(a.last) {
		a.last = now
	}
	b.pending[hash] = a
	n := len(b.pending)
	b.mu.Unlock()
	if !ok && n == max(1, b.log.maxPending/2) {
		select {
		case b.log.kick <- struct{}{}:
		default:
		}
	}
}

// flush writes the pending reads of the table, in batches of
// accessBatchRows keys in key_hash order. Its errors do not name the table.
func (b *accessBuffer) flush(ctx context.Context) error {
	b.flushing.Lock()
	defer b.flushing.Unlock()
	b.mu.Lock()
	pending := b.pending
	if len(pending) == 0 {
		b.mu.Unlock()
		return nil
	}
	b.pending = make(map[[32]byte]access, len(pending))
	b.mu.Unlock()
	hashes := make([][32]byte, 0, len(pending))
	for h := range pending {
		hashes = append(hashes, h)
	}
	// In key_hash order, as PutMany writes, so that they do not deadlock.
	slices.SortFunc(hashes, func(x, y [32]byte) int { return bytes.Compare(x[:], y[:]) })
	var errs []error
	for chunk := range slices.Chunk(hashes, accessBatchRows) {
		if err := b.flushRows(ctx, chunk, pending); err != nil {
			errs = append(errs, fmt.Errorf("flush the reads of %d keys: %w", len(chunk), err))
		}
	}
	return errors.Join(errs...)
}

// accessSQL returns the UPDATE that adds the pending reads of rows keys to
// table: its arguments are, per key, the key hash, the count of reads and
// the latest read time. Only rows that exist are updated, and only hits
// and accessed_at change.
func accessSQL(d *dialect.Dialect, table string, rows int) string {
	c := d.QuoteIdent
	t := c(table)
	var b strings.Builder
	switch d {
	case dialect.Postgres:
		b.WriteString("UPDATE " + t + " SET " + c("hits") + " = " + t + "." + c("hits") + " + v.n, " +
			c("accessed_at") + " = GREATEST(" + t + "." + c("accessed_at") + ", v.at) FROM (VALUES ")
		for i := range rows {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "($%d::bytea, $%d::bigint, $%d::timestamptz)", 3*i+1, 3*i+2, 3*i+3)
		}
		b.WriteString(") AS v(h, n, at) WHERE " + t + "." + c("key_hash") + " = v.h")
	case dialect.MySQL:
		b.WriteString("UPDATE " + t + " JOIN (")
		for i := range rows {
			if i == 0 {
				b.WriteString("SELECT CAST(? AS BINARY(32)) AS h, ? AS n, CAST(? AS DATETIME(6)) AS at")
			} else {
				b.WriteString(" UNION ALL SELECT CAST(? AS BINARY(32)), ?, CAST(? AS DATETIME(6))")
			}
		}
		b.WriteString(") v ON " + t + "." + c("key_hash") + " = v.h SET " + t + "." + c("hits") + " = " + t + "." + c("hits") + " + v.n, " +
			t + "." + c("accessed_at") + " = GREATEST(" + t + "." + c("accessed_at") + ", v.at)")
	default: // SQLite: timestamps are text that sorts as time.
		b.WriteString("WITH v(h, n, at) AS (VALUES ")
		for i := range rows {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?)")
		}
		b.WriteString(") UPDATE " + t + " SET " + c("hits") + " = " + c("hits") + " + v.n, " +
			c("accessed_at") + " = max(" + c("accessed_at") + ", v.at) FROM v WHERE " + c("key_hash") + " = v.h")
	}
	return b.String()
}

// openAccess registers the Table in log, if its table has the hits and
// accessed_at columns (types are its columns' types, as Open read them),
// which tables made by other tools may lack: reads of those are not
// recorded.
func (t *Table[V]) openAccess(log *AccessLog, types map[string]string) error {
	if log == nil {
		return nil
	}
	if _, ok := types["hits"]; !ok {
		return nil
	}
	if _, ok := types["accessed_at"]; !ok {
		return nil
	}
	b := &accessBuffer{log: log, name: t.name, pending: make(map[[32]byte]access)}
	b.flushRows = func(ctx context.Context, hashes [][32]byte, pending map[[32]byte]access) error {
		query := accessSQL(t.d, t.name, len(hashes))
		args := make([]any, 0, 3*len(hashes))
		for _, h := range hashes {
			a := pending[h]
			args = append(args, h[:], a.hits, t.d.TimeArg(a.last))
		}
		// Not repeatable: an UPDATE that adds must not run twice.
		err := t.do(ctx, false, func(ctx context.Context) error {
			_, err := t.db.ExecContext(ctx, query, args...)
			return err
		})
		if dialect.IsMissingTable(err) {
			return nil // dropped: its rows, and their reads, are gone
		}
		return err
	}
	if err := log.register(b); err != nil {
		return err
	}
	t.access = b
	return nil
}

// accessed records a read of the entry whose key hash is hash.
func (t *Table[V]) accessed(hash [32]byte) {
	if t.access != nil {
		t.access.hit(hash, t.now())
	}
}

// closeAccess flushes the Table's pending reads and leaves the log.
func (t *Table[V]) closeAccess() error {
	if t.access == nil {
		return nil
	}
	return t.access.log.unregister(t.access)
}

// accessQuerier reports whether db is a Querier whose statements may run
// beside the Table's own calls: a pool, not a *sql.Conn or a *sql.Tx.
func accessQuerier(db Querier) bool {
	switch db.(type) {
	case *sql.Conn, *sql.Tx:
		return false
	}
	_, ok := db.(beginner)
	return ok
}

package sqlarchive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqltable"
)

// Defaults of the follower and of leases.
const (
	// DefaultPollInterval is how often the follower of an Archive reads the
	// change feed when Options.PollInterval is zero and no Listener is
	// connected.
	DefaultPollInterval = 100 * time.Millisecond

	// pageRows is the most changes one poll reads.
	pageRows = 1000

	// maxGaps is the most missing ids the follower tracks, times the
	// step between ids (see idStride); more at once means it fell behind,
	// and it drops the memory of every memo.
	maxGaps = 1000

	// gapWait is how long the follower waits for a missing id to appear.
	// Ids go missing when transactions roll back, and for a moment when
	// transactions commit out of order (PostgreSQL and MySQL assign ids at
	// insert).
	gapWait = time.Minute
)

// Change is one entry of the change feed: a change that may make the
// memory of another process stale. See [Archive.Watch].
type Change struct {
	ID      int64     // increasing, in the order the changes were recorded
	At      time.Time // when it was recorded, on the database's clock, in UTC
	Archive string    // the archive, as the catalog names it; "" for a table it does not list
	Table   string    // the table
	// Op is "update" (a key overwritten), "delete" (a key removed) or
	// "evict" (a key evicted past the table's bounds), or, for a change of
	// the whole table, "clear", "purge" (entries removed by age), "batch"
	// (a batch that overwrote keys), "import", "copy", "alter" (the
	// archive's settings changed by Archive.Alter) or "drop".
	Op  string
	Key string // the key as stored in key_text; "" for a change of the whole table
}

// KeyChange reports whether c concerns one key rather than the whole table.
func (c Change) KeyChange() bool { return c.Op == "update" || c.Op == "delete" || c.Op == "evict" }

// FollowInfo describes the follower of an Archive: the goroutine that reads
// the change feed for the memos of [Memoize] and for [Archive.Watch].
type FollowInfo struct {
	Running       bool   // whether the follower runs (it starts with the first memo or watch)
	Listening     bool   // whether PostgreSQL notifications wake it (see Options.Listener)
	Cursor        int64  // the id of the latest change it read
	Polls         uint64 // reads of the change feed
	Notifications uint64 // PostgreSQL notifications received
	Changes       uint64 // changes read
	Resets        uint64 // times it dropped all memory, having fallen behind the feed
	Errors        uint64 // failed polls (the next poll catches up)
}

// subscriber is told of the changes of one table: a memo made by Memoize.
type subscriber interface {
	// invalidate drops keys from memory; all of them when keys is nil.
	invalidate(keys []keymap.Key)
	// dropped tells that the table was dropped.
	dropped()
	// altered tells that the archive's settings changed.
	altered()
	// alive reports whether anyone still uses the subscriber.
	alive() bool
}

// follower reads the change feed of one database and passes the changes to
// the memos and watchers of an Archive. It runs in one goroutine, started
// by the first subscription and stopped by Archive.Close.
type follower struct {
	db       *sql.DB
	d        *dialect.Dialect
	interval time.Duration
	window   int64     // of the feed; 0 when it is never pruned
	listener Listener  // nil when none
	poll     string    // the query of new changes, with "?" for the cursor
	replica  bool      // db is a read replica (Options.ReadDB)
	report   *reporter // of failed reads

	starting sync.Mutex // held by start, so that one caller starts the follower

	mu       sync.Mutex // guards following fields
	started  bool
	closed   bool
	subs     map[string][]subscriber // by table name
	watchers map[*watcher]struct{}
	cursor   int64
	gaps     map[int64]time.Time // ids below cursor not read yet, and when they were first missed
	maxGaps  int64               // the most gaps tracked: maxGaps × idStride
	cancel   context.CancelFunc
	done     chan struct{}
	leaseC   chan struct{} // closed and replaced when leases are released (PostgreSQL notifications)
	schema   string        // PostgreSQL: the schema whose notifications count

	wake chan struct{} // a notification, or a request to poll now

	reading sync.Mutex // held by read, so that each change is passed on once

	listening                               atomic.Bool
	polls, notes, changes, resets, pollErrs atomic.Uint64
}

func newFollower(db *sql.DB, d *dialect.Dialect, interval time.Duration, window int, l Listener) *follower {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	switch {
	case window == 0:
		window = sqltable.DefaultFeedWindow
	case window < 0:
		window = 0
	}
	c := d.QuoteIdent
	return &follower{
		db:       db,
		d:        d,
		interval: interval,
		window:   int64(window),
		listener: l,
		poll: "SELECT " + c("id") + ", " + c("at") + ", " + c("table_name") + ", " + c("op") + ", " +
			c("key_hash") + ", " + c("key_text") + " FROM " + c(migrations.ChangesTable),
		subs:     make(map[string][]subscriber),
		watchers: make(map[*watcher]struct{}),
		gaps:     make(map[int64]time.Time),
		wake:     make(chan struct{}, 1),
		leaseC:   make(chan struct{}),
	}
}

// start starts the follower unless it runs: it reads the latest id of the
// feed, from which it follows, and listens on PostgreSQL. Memory made before
// start holds nothing that a change before that id could concern, as
// subscribers subscribe before their first read.
func (f *follower) start(ctx context.Context) error {
	f.starting.Lock()
	defer f.starting.Unlock()
	f.mu.Lock()
	closed, started := f.closed, f.started
	f.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case started:
		return nil
	}
	var latest sql.NullInt64
	q := "SELECT MAX(" + f.d.QuoteIdent("id") + ") FROM " + f.d.QuoteIdent(migrations.ChangesTable)
	// On a replica, the latest id it has replayed: a change it has yet to
	// replay comes after, and a memo reads the values it has. A replica
	// yet to replay the creation of the feed has every change to come.
	if err := f.db.QueryRowContext(ctx, q).Scan(&latest); err != nil && !(f.replica && dialect.IsMissingTable(err)) {
		return feedError(fmt.Errorf("sqlarchive: follow the change feed: %w", err))
	}
	stride, err := idStride(ctx, f.db, f.d)
	if err != nil {
		return err
	}
	var schema string
	if f.d == dialect.Postgres {
		if err := f.db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return fmt.Errorf("sqlarchive: follow the change feed: %w", err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	f.cursor, f.schema, f.maxGaps = latest.Int64, schema, maxGaps*stride
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.cancel, f.done, f.started = cancel, make(chan struct{}), true
	go f.run(run)
	return nil
}

// feedError explains an error of a database whose feed or lease table is
// missing, and marks an error of a table that found the feed missing
// (sqltable.ErrNoFeed) with ErrNoFeed.
func feedError(err error) error {
	switch {
	case errors.Is(err, sqltable.ErrNoFeed):
		return errmark.Errorf(ErrNoFeed, "%w", err)
	case dialect.IsMissingTable(err):
		return fmt.Errorf("%w (run `klepto-sql migrate up`, or apply the migrations of package migrations): %w", ErrNoFeed, err)
	}
	return err
}

// close stops the follower and waits for it.
func (f *follower) close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	cancel, done := f.cancel, f.done
	f.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	if f.listener != nil {
		return f.listener.Close()
	}
	return nil
}

// subscribe starts the follower if needed and tells s of the changes of
// table from now on.
func (f *follower) subscribe(ctx context.Context, table string, s subscriber) error {
	if err := f.start(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	f.subs[table] = append(f.subs[table], s)
	return nil
}

// run is the follower's goroutine.
func (f *follower) run(ctx context.Context) {
	defer close(f.done)
	var notes <-chan Notification
	if f.listener != nil {
		notes = f.listener.Notifications()
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case n, ok := <-notes:
			if !ok {
				notes = nil
				continue
			}
			f.notes.Add(1)
			switch {
			case n.Reconnected:
				f.wakeLeases()
			case n.Payload != f.schema:
				continue // another schema's feed
			case n.Channel == migrations.LeasesTable:
				f.wakeLeases()
				continue
			}
		case <-f.wake:
		case <-timer.C:
		}
		f.listening.Store(f.listener != nil && f.listener.Connected())
		f.read(ctx)
		// The follower polls at every interval, even while a Listener is
		// connected: a listening connection can be lost unnoticed.
		timer.Reset(f.interval)
	}
}

// wakeLeases wakes the processes waiting for leases.
func (f *follower) wakeLeases() {
	f.mu.Lock()
	close(f.leaseC)
	f.leaseC = make(chan struct{})
	f.mu.Unlock()
}

// leaseWake returns a channel closed at the next lease notification.
func (f *follower) leaseWake() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leaseC
}

// read reads the changes after the cursor, and the missing ids that may
// have appeared, and passes them on, page after page.
func (f *follower) read(ctx context.Context) {
	f.reading.Lock()
	defer f.reading.Unlock()
	for {
		n, err := f.readPage(ctx)
		if err != nil {
			f.pollErrs.Add(1)
			if ctx.Err() == nil {
				f.report.failed("follow", err)
			}
			return
		}
		if n < pageRows {
			return
		}
	}
}

// readPage reads one page of changes and passes them on; it returns how
// many it read.
func (f *follower) readPage(ctx context.Context) (int, error) {
	f.mu.Lock()
	cursor := f.cursor
	now := time.Now()
	args := []any{cursor}
	where := " WHERE " + f.d.QuoteIdent("id") + " > ?"
	if len(f.gaps) > 0 {
		var in []string
		for id, since := range f.gaps {
			if now.Sub(since) > gapWait {
				delete(f.gaps, id) // rolled back, most likely
				continue
			}
			in = append(in, "?")
			args = append(args, id)
		}
		if len(in) > 0 {
			where += " OR " + f.d.QuoteIdent("id") + " IN (" + strings.Join(in, ", ") + ")"
		}
	}
	f.mu.Unlock()

	query := f.d.Rebind(f.poll + where + " ORDER BY " + f.d.QuoteIdent("id") + " LIMIT " + fmt.Sprint(pageRows))
	rows, err := f.db.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var page []Change
	var keys [][]byte
	for rows.Next() {
		var c Change
		var hash []byte
		var text sql.NullString
		if err := rows.Scan(&c.ID, f.d.ScanTime(&c.At), &c.Table, &c.Op, &hash, &text); err != nil {
			return 0, err
		}
		c.Key = text.String
		page = append(page, c)
		keys = append(keys, hash)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, err
	}
	f.polls.Add(1)
	f.apply(page, keys)
	return len(page), nil
}

// reset drops the memory of every subscriber, after the follower missed
// changes, and moves the cursor to id.
func (f *follower) reset(id int64) {
	f.mu.Lock()
	clear(f.gaps)
	f.cursor = max(f.cursor, id)
	f.mu.Unlock()
	f.resets.Add(1)
	for _, s := range f.subscribers("") {
		s.invalidate(nil)
	}
}

// apply passes on the changes of a page, and moves the cursor past them.
//
// Ids missing after the cursor belong to changes under way (PostgreSQL and
// MySQL assign ids at insert, not at commit), to transactions rolled back,
// or to changes that writers pruned because the follower fell behind. It
// waits for them as gaps, unless more of them are missing than the window
// of the feed could lose (half the window: writers keep nearly all of it)
// or than it tracks: then it drops all memory.
func (f *follower) apply(page []Change, hashes [][]byte) {
	now := time.Now()
	behind := int64(-1)
	f.mu.Lock()
	for _, c := range page {
		switch {
		case c.ID <= f.cursor:
			delete(f.gaps, c.ID)
		default:
			if missing := c.ID - f.cursor - 1; missing > 0 {
				if missing+int64(len(f.gaps)) > f.maxGaps || f.window > 0 && missing > f.window/2 {
					behind = c.ID - 1
				} else {
					for id := f.cursor + 1; id < c.ID; id++ {
						f.gaps[id] = now
					}
				}
			}
			f.cursor = c.ID
		}
	}
	f.mu.Unlock()
	f.changes.Add(uint64(len(page)))
	if behind >= 0 {
		f.reset(behind)
	}
	f.dispatch(page, hashes)
}

// subscribers returns the live subscribers of table, or of every table when
// table is "", forgetting those no one uses any more.
func (f *follower) subscribers(table string) []subscriber {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []subscriber
	for t, subs := range f.subs {
		if table != "" && t != table {
			continue
		}
		live := subs[:0]
		for _, s := range subs {
			if s.alive() {
				live = append(live, s)
			}
		}
		clear(subs[len(live):])
		if len(live) == 0 {
			delete(f.subs, t)
			continue
		}
		f.subs[t] = live
		out = append(out, live...)
	}
	return out
}

// dispatch passes a page of changes to the subscribers of their tables,
// one call per subscriber and table, and to the watchers.
func (f *follower) dispatch(page []Change, hashes [][]byte) {
	type tableChanges struct {
		keys    []keymap.Key
		all     bool
		dropped bool
		altered bool
	}
	byTable := make(map[string]*tableChanges)
	for i, c := range page {
		tc := byTable[c.Table]
		if tc == nil {
			tc = new(tableChanges)
			byTable[c.Table] = tc
		}
		switch {
		case c.Op == "drop":
			tc.all, tc.dropped = true, true
		case c.Op == opAlter:
			tc.all, tc.altered = true, true
		case c.KeyChange() && len(hashes[i]) == 32:
			text, err := sqltable.DecodeKeyText(c.Key)
			if err != nil {
				tc.all = true
				continue
			}
			k := keymap.Key{Text: text}
			copy(k.Hash[:], hashes[i])
			tc.keys = append(tc.keys, k)
		default:
			tc.all = true
		}
	}
	for table, tc := range byTable {
		for _, s := range f.subscribers(table) {
			if tc.dropped {
				s.dropped()
			}
			if tc.altered {
				s.altered()
			}
			if tc.all {
				s.invalidate(nil)
			} else {
				s.invalidate(tc.keys)
			}
		}
	}
	f.mu.Lock()
	watchers := make([]*watcher, 0, len(f.watchers))
	for w := range f.watchers {
		watchers = append(watchers, w)
	}
	f.mu.Unlock()
	for _, w := range watchers {
		w.push(page)
	}
}

// info returns the follower's figures.
func (f *follower) info() FollowInfo {
	f.mu.Lock()
	running, cursor := f.started && !f.closed, f.cursor
	f.mu.Unlock()
	return FollowInfo{
		Running:       running,
		Listening:     running && f.listening.Load(),
		Cursor:        cursor,
		Polls:         f.polls.Load(),
		Notifications: f.notes.Load(),
		Changes:       f.changes.Load(),
		Resets:        f.resets.Load(),
		Errors:        f.pollErrs.Load(),
	}
}

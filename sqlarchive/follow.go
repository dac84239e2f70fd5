package sqlarchive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
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

	// strideCheck is how often the follower reads the step between ids
	// again: it changes when a Galera cluster gains or loses a node.
	strideCheck = time.Minute

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
	cursor   int64               // the highest id read
	classes  []int64             // by id % stride: the highest id of the class read, or a floor below which none is awaited
	marks    []mark              // the cursor over the last gapWait, oldest first
	gaps     map[int64]time.Time // ids below their class's entry in classes not read yet, and when they were first missed
	maxGaps  int64               // the most gaps tracked: maxGaps × idStride
	gapWait  time.Duration       // gapWait, but in tests
	strideAt time.Time           // when the stride was read
	cancel   context.CancelFunc
	done     chan struct{}
	leaseC   chan struct{} // closed and replaced when leases are released (PostgreSQL notifications)
	schema   string        // PostgreSQL: the schema whose notifications count

	wake chan struct{} // a notification, or a request to poll now

	reading sync.Mutex // held by read, so that each change is passed on once

	listening                               atomic.Bool
	polls, notes, changes, resets, pollErrs atomic.Uint64
}

// mark is the cursor of the follower at a time.
type mark struct {
	at     time.Time
	cursor int64
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
		gapWait:  gapWait,
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
	f.cursor, f.schema = latest.Int64, schema
	f.setStride(stride, time.Now())
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
	if err := f.checkStride(ctx); err != nil {
		f.pollErrs.Add(1)
		if ctx.Err() == nil {
			f.report.failed("follow", err)
		}
		return
	}
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

// checkStride reads the step between ids again, on MySQL and MariaDB, once
// every strideCheck, and resets the follower if it changed (a Galera
// cluster gained or lost a node): the classes of ids it awaits change with
// it.
func (f *follower) checkStride(ctx context.Context) error {
	f.mu.Lock()
	due := f.d == dialect.MySQL && time.Since(f.strideAt) >= strideCheck
	f.mu.Unlock()
	if !due {
		return nil
	}
	stride, err := idStride(ctx, f.db, f.d)
	if err != nil {
		return err
	}
	f.mu.Lock()
	changed := stride != int64(len(f.classes))
	if changed {
		f.setStride(stride, time.Now())
	}
	f.strideAt = time.Now()
	f.mu.Unlock()
	if changed {
		f.reset(0)
	}
	return nil
}

// setStride makes the follower await the ids of stride classes (id %
// stride), each from the cursor on. f.mu is held, or the follower is not
// running.
func (f *follower) setStride(stride int64, now time.Time) {
	f.classes = make([]int64, stride)
	for r := range f.classes {
		f.classes[r] = f.cursor
	}
	f.marks = append(f.marks[:0], mark{now, f.cursor})
	f.maxGaps = maxGaps * stride
	f.strideAt = now
}

// raiseFloors records the cursor, and gives up the ids of each class that
// have been below the cursor for gapWait: it lifts each class to the
// cursor of gapWait ago. f.mu is held.
func (f *follower) raiseFloors(now time.Time) {
	if n := len(f.marks); n == 0 || f.marks[n-1].cursor < f.cursor {
		f.marks = append(f.marks, mark{now, f.cursor})
	}
	i := 0
	for i+1 < len(f.marks) && now.Sub(f.marks[i+1].at) >= f.gapWait {
		i++
	}
	if i > 0 {
		f.marks = append(f.marks[:0], f.marks[i:]...)
	}
	if now.Sub(f.marks[0].at) < f.gapWait {
		return
	}
	for r, floor := range f.classes {
		f.classes[r] = max(floor, f.marks[0].cursor)
	}
}

// readPage reads one page of changes and passes them on; it returns how
// many it read: those after the cursor, those of each class after the
// class's highest id read, and the gaps.
func (f *follower) readPage(ctx context.Context) (int, error) {
	f.mu.Lock()
	now := time.Now()
	f.raiseFloors(now)
	id := f.d.QuoteIdent("id")
	args := []any{f.cursor}
	where := " WHERE " + id + " > ?"
	for r, since := range f.classes {
		if since < f.cursor {
			// Ids of this class that come after ids of other classes:
			// on Galera, a node commits after another that took a
			// higher id, or writes now and then while another writes
			// much.
			where += " OR (" + id + " > ? AND " + id + " % " + strconv.Itoa(len(f.classes)) + " = " + strconv.Itoa(r) + ")"
			args = append(args, since)
		}
	}
	if len(f.gaps) > 0 {
		var in []string
		for gap, since := range f.gaps {
			if now.Sub(since) > f.gapWait {
				delete(f.gaps, gap) // rolled back, most likely
				continue
			}
			in = append(in, "?")
			args = append(args, gap)
		}
		if len(in) > 0 {
			where += " OR " + id + " IN (" + strings.Join(in, ", ") + ")"
		}
	}
	f.mu.Unlock()

	query := f.d.Rebind(f.poll + where + " ORDER BY " + id + " LIMIT " + fmt.Sprint(pageRows))
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
// changes, and moves the cursor to id, and every class to the cursor.
func (f *follower) reset(id int64) {
	f.mu.Lock()
	clear(f.gaps)
	f.cursor = max(f.cursor, id)
	for r := range f.classes {
		f.classes[r] = f.cursor
	}
	f.marks = append(f.marks[:0], mark{time.Now(), f.cursor})
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
// or to changes that writers pruned because the follower fell behind. The
// follower awaits them by class of id % stride (see idStride): each node
// of a Galera cluster takes the ids of one class, in increasing order, so
// an id of a class is awaited only once a higher id of that class is read
// (as a gap), or while it is below the cursor (the next poll reads each
// class after its highest id). It drops all memory instead when more
// ids are missing than the window of the feed could lose (half the window:
// writers keep nearly all of it) or than it tracks as gaps.
func (f *follower) apply(page []Change, hashes [][]byte) {
	now := time.Now()
	behind := int64(-1)
	f.mu.Lock()
	stride := int64(len(f.classes))
	for _, c := range page {
		r := c.ID % stride
		last := f.classes[r]
		if c.ID <= last {
			delete(f.gaps, c.ID)
			continue
		}
		if c.ID > f.cursor && f.window > 0 && c.ID-f.cursor-1 > f.window/2 {
			behind = c.ID - 1
		} else {
			// The ids of the class between last and c.ID.
			first := last + 1 + ((r-(last+1)%stride)+stride)%stride
			if missing := (c.ID - first) / stride; missing+int64(len(f.gaps)) > f.maxGaps {
				behind = max(behind, c.ID-1)
			} else {
				for gap := first; gap < c.ID; gap += stride {
					f.gaps[gap] = now
				}
			}
		}
		f.classes[r] = c.ID
		f.cursor = max(f.cursor, c.ID)
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

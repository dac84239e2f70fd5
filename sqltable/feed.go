package sqltable

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/keymap"
)

// changesTable is the change feed, created by package migrations
// (migrations.ChangesTable).
const changesTable = "klepto_changes"

// ErrNoFeed is wrapped by the errors of a Table whose database lacks the
// change feed it needs: of Open with Options.RequireFeed when there is
// none, or one older than klepto's migration 3, and of writes whose record
// finds the feed's table gone. The error says to run the migrations.
var ErrNoFeed = errors.New("sqltable: the database lacks klepto's change feed")

// DefaultFeedWindow is how many changes the change feed keeps when
// Options.FeedWindow is zero.
const DefaultFeedWindow = 10000

// minFeedWindow is the smallest Options.FeedWindow.
const minFeedWindow = 256

// pruneEvery is how often, in changes, a writer prunes the feed: after
// recording a change whose id is a multiple of it.
const pruneEvery = 64

// The operations recorded in the change feed: of one key, and of the whole
// table.
const (
	opUpdate = "update" // a key overwritten
	opDelete = "delete" // a key removed
	opEvict  = "evict"  // a key evicted past the bounds
	opClear  = "clear"  // every entry removed
	opPurge  = "purge"  // entries removed by age
	opBatch  = "batch"  // PutMany overwrote keys
	opImport = "import" // PutRows overwrote keys
	opCopy   = "copy"   // CopyTo overwrote keys of the destination
	opDrop   = "drop"   // the table dropped
)

// migrate says how to create the feed's tables.
const migrate = "run `klepto-sql migrate up`, or apply the migrations of package migrations"

// feed records the changes of a Table in the change feed.
type feed struct {
	record stmt   // table_name, op, key_hash, key_text; RETURNING id on PostgreSQL
	prune  string // the last id to delete
	window int64
}

// openFeed returns the feed of a Table whose database has one (see
// package migrations), or nil, or with require an error wrapping
// ErrNoFeed. A feed that predates the key_text column of migration 3 is
// such an error too. Open prepares the record statement.
//
// With require, over a *sql.DB whose feed an earlier Table found, it does
// not look again: if the feed is gone since, the first change a Table
// records fails with an error wrapping ErrNoFeed, and the Tables opened
// after look again.
func (t *Table[V]) openFeed(ctx context.Context, window int, require bool) (*feed, error) {
	if !require || t.handle == nil || !t.handle.feed.Load() {
		cols, err := t.columnTypes(ctx, changesTable)
		switch {
		case err != nil:
			return nil, err
		case len(cols) == 0 && require:
			return nil, fmt.Errorf("%w: it has no %s table; %s", ErrNoFeed, changesTable, migrate)
		case len(cols) == 0:
			return nil, nil
		}
		if _, ok := cols["key_text"]; !ok {
			return nil, fmt.Errorf("%w: its %s table predates klepto's migration 3; %s", ErrNoFeed, changesTable, migrate)
		}
		if t.handle != nil {
			t.handle.feed.Store(true)
		}
	}
	d := t.d
	c := d.QuoteIdent
	f := &feed{
		prune:  d.Rebind("DELETE FROM " + c(changesTable) + " WHERE " + c("id") + " <= ?"),
		window: int64(window),
	}
	f.record.query = d.Rebind("INSERT INTO " + c(changesTable) + " (" + c("table_name") + ", " + c("op") + ", " +
		c("key_hash") + ", " + c("key_text") + ") VALUES (?, ?, ?, ?)")
	if d == dialect.Postgres {
		f.record.query += " RETURNING " + c("id")
	}
	if f.window == 0 {
		f.window = DefaultFeedWindow
	}
	return f, nil
}

// recordChange records op of key (nil for the whole table) in the change
// feed, on q: the transaction of the change itself, so that both commit
// together. It returns the id of the change.
func (t *Table[V]) recordChange(ctx context.Context, q Querier, op string, key *keymap.Key) (int64, error) {
	var hash, text any
	if key != nil {
		hash, text = key.Hash[:], EncodeKeyText(key.Text)
	}
	if t.d == dialect.Postgres {
		var id int64
		err := t.feed.record.queryRowOn(ctx, q, t.name, op, hash, text).Scan(&id)
		return id, t.feedError(err)
	}
	res, err := t.feed.record.execOn(ctx, q, t.name, op, hash, text)
	if err != nil {
		return 0, t.feedError(err)
	}
	return res.LastInsertId()
}

// feedError is feedError for the record of a change by t. After any
// failed record, the Tables opened next over t's *sql.DB look for the feed
// again: the feed table may be gone, or have lost a column to a migration
// run down, and looking costs one query.
func (t *Table[V]) feedError(err error) error {
	if t.handle != nil && err != nil {
		t.handle.feed.Store(false)
	}
	return feedError(err)
}

// feedError explains the error of a record whose feed table is missing.
func feedError(err error) error {
	if err != nil && dialect.IsMissingTable(err) {
		return fmt.Errorf("%w: record the change: %s; %w", ErrNoFeed, migrate, err)
	}
	return err
}

// pruneFeed deletes the changes older than the window, after the change
// id was recorded, every pruneEvery changes. It is best effort: a failure
// leaves the old changes for the next prune.
func (t *Table[V]) pruneFeed(ctx context.Context, id int64) {
	if t.feed.window < 0 || id%pruneEvery != 0 {
		return
	}
	// Keep no more than the window: the pruneEvery changes to come fill it.
	// The prune runs within the call's context, so that it never holds the
	// call past its deadline; one that fails leaves its rows to the next.
	// In the caller's transaction, which a canceled statement would abort
	// on PostgreSQL, it is not canceled.
	if t.conn == nil {
		ctx = context.WithoutCancel(ctx)
	}
	if last := id - t.feed.window + pruneEvery; last > 0 && ctx.Err() == nil {
		_, _ = t.db.ExecContext(ctx, t.feed.prune, last)
	}
}

// change runs write, a change of the table, with the record of op of key
// (nil for the whole table) in the change feed, in one transaction: the
// Table's own, or the caller's when the Table is bound to one. write
// reports whether it changed anything worth recording.
func (t *Table[V]) change(ctx context.Context, op string, key *keymap.Key, write func(ctx context.Context, q Querier) (bool, error)) error {
	var id int64
	run := func(ctx context.Context, q Querier) error {
		id = 0
		changed, err := write(ctx, q)
		if err != nil || !changed || t.feed == nil {
			return err
		}
		id, err = t.recordChange(ctx, q, op, key)
		return err
	}
	var err error
	switch {
	case t.conn == nil: // the caller's transaction
		err = run(ctx, t.db)
	case t.feed == nil:
		err = t.do(ctx, true, func(ctx context.Context) error { return run(ctx, t.db) })
	default:
		err = t.do(ctx, true, func(ctx context.Context) error {
			return t.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return run(ctx, tx) })
		})
	}
	if err == nil && id > 0 {
		t.pruneFeed(ctx, id)
	}
	return err
}

// affected returns whether res reports rows affected.
func affected(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// insertNew runs the statement s, which inserts a row unless its key is
// present, and reports whether it inserted it. On MySQL, s is a plain
// INSERT, which fails on a present key (INSERT IGNORE would hide other
// errors, and RowsAffected of a no-op update depends on the connection's
// clientFoundRows).
func (t *Table[V]) insertNew(ctx context.Context, s *stmt, args ...any) (bool, error) {
	res, err := s.exec(ctx, t.db, args...)
	if t.d == dialect.MySQL && dialect.IsUniqueViolation(err) {
		return false, nil
	}
	return affected(res, err)
}

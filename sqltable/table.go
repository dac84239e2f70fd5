package sqltable

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/keymap"
)

// Querier is the subset of *sql.DB, *sql.Tx and *sql.Conn that a [Table]
// uses; *sqlx.DB, *sqlx.Tx and *sqlx.Conn have it too.
type Querier = dialect.Querier

// DefaultRetries is how many times a Table retries an operation that failed
// with a transient error when [Options].Retries is zero.
const DefaultRetries = 4

// ErrClosed is wrapped by the errors of the methods of a Table after
// [Table.Close] or [Table.Drop].
var ErrClosed = errors.New("sqltable: table is closed")

// ErrInvalidOptions is wrapped by the errors of [Open] about its arguments:
// [Options] that are not valid, or a nil Querier. An invalid table name is
// an error wrapping dialect.ErrInvalidTableName instead.
var ErrInvalidOptions = errors.New("sqltable: invalid options")

// Options configure [Open]. A nil *Options and the zero value both mean:
// the dialect found from the database's driver, JSON values that never
// expire, time.Now, [DefaultRetries] and no size limit of the Table's own.
type Options struct {
	// Dialect is the database behind the Querier: dialect.SQLite,
	// dialect.MySQL or dialect.Postgres. Nil means the dialect that
	// dialect.Detect finds from the driver of a *sql.DB or *sql.Conn; a
	// Table over a *sql.Tx needs it named. A named dialect that does not
	// match the driver is an error wrapping a *dialect.MismatchError.
	Dialect *dialect.Dialect

	// Codec encodes values: codec.JSON (the default) stores them as JSON
	// in the database's JSON type, codec.Gob as encoding/gob bytes, and
	// codec.Raw stores a []byte as it is (V must then be []byte). With
	// Stored, it names the codec the table's values were written with.
	Codec codec.Codec

	// Stored makes the Table pass values through as the value column
	// stores them, never encoding or decoding them, so that tools can move
	// or show values that only the program that wrote them could decode.
	// V must then be []byte. For codecs gob and raw a value is the stored
	// bytes. For codec json it is JSON text: writes refuse values that are
	// not valid JSON, and store them without insignificant space, as codec
	// json stores a json.RawMessage; reads return the JSON as the database
	// returns it. The default, false, encodes and decodes values with Codec.
	Stored bool

	// TTL is how long an entry lives after it is written. Zero means
	// entries never expire. An expired entry is a miss for every method:
	// Get and Has do not find it, Len does not count it, Keys and All do not
	// list it. It stays in the table until it is overwritten or removed by
	// DeleteExpired.
	TTL time.Duration

	// Clock returns the current time; the default is time.Now. Every
	// timestamp a Table writes, and every expiry it checks, comes from it.
	Clock func() time.Time

	// Retries is how many times an operation is retried after a transient
	// error: a busy database, a deadlock, a serialization failure or, for
	// operations that are safe to repeat, a lost connection. Zero means
	// DefaultRetries and a negative number no retries. A Table bound to a
	// transaction never retries: after such errors the transaction itself
	// must be retried.
	Retries int

	// MaxValueBytes, when positive, is the largest encoded value Put,
	// PutArgs, PutMany and CopyTo accept. The databases have limits of their
	// own; MySQL's max_allowed_packet is checked before a statement is sent.
	MaxValueBytes int

	// FeedWindow is how many changes the change feed keeps, when the
	// database has one (see the package documentation): after every 64th
	// change it records, a Table deletes the changes older than the last
	// FeedWindow. Zero means DefaultFeedWindow (10,000); negative, never
	// delete; otherwise it must be at least 256. Followers that fall
	// behind by half the window drop the memory of their memos. Give every
	// process the same window.
	FeedWindow int

	// RequireFeed makes Open fail, with an error wrapping ErrNoFeed, when
	// the database has no change feed (klepto_changes, of package
	// migrations, at migration 3 or later). Without it, a Table over such a
	// database records no changes. Package sqlarchive sets it, as its memos
	// depend on the feed. Over a *sql.DB whose feed an earlier Open found,
	// Open does not look again (see "Opening many tables" in the package
	// documentation).
	RequireFeed bool

	// MaxEntries, when positive, is the most rows the table keeps,
	// expired or not, and MaxBytes the most bytes of encoded values (the
	// sum of size_bytes); zero means no bound, and a bound must not be
	// negative nor smaller than one eviction batch (MinEvictBatch entries,
	// MinEvictBatchBytes bytes). Writes past a bound evict entries in the
	// order Evict (default EvictLRS); see "Bounds" in the package
	// documentation. Open creates the index of the order if the table
	// lacks it.
	MaxEntries int64
	MaxBytes   int64
	Evict      Evict

	// ArgsOptions are the keymap options of the JSON that PutArgs stores in
	// the args column (see keymap.NewEncoded). Give them the Ignore and
	// IgnorePositions of the memo's keymap, so that arguments it leaves out
	// of keys, such as a logger, are left out here too. Nil means none.
	ArgsOptions *keymap.Options

	// NoPrepare makes the Table send every statement as it is, never
	// preparing one to keep (with PrepareContext) across calls. Set it
	// when the Querier reaches the database through a connection pooler in
	// transaction mode, such as PgBouncer 1.18 with pool_mode=transaction,
	// which does not keep a prepared statement beyond the transaction
	// that made it: a later call may run on another server connection (see
	// docs/deploying.md for the DSN the driver then needs). The default,
	// false, prepares the statements of single keys, and of full batches,
	// once per Table, which saves the server a parse per call.
	NoPrepare bool

	// AccessLog, if not nil, counts the entries that Get, GetExpiry and
	// GetMany find, and writes the counts to the hits and accessed_at
	// columns in batches (see AccessLog). The Table must be over a pool
	// (a *sql.DB), not a *sql.Conn or a *sql.Tx. Close flushes the
	// Table's pending reads. Nil, the default, leaves hits and
	// accessed_at alone: reads write nothing.
	AccessLog *AccessLog

	// Observer, if set, receives the Table's events: the hits and misses
	// of Get and GetExpiry, the writes of Put, PutArgs and PutMany, with
	// the time each took, the entries its bounds evict, and the errors of
	// those methods and of Delete (see cache.Event, whose Name is
	// EventName). Nil means none.
	Observer cache.Observer

	// EventName is the Name of the events Observer receives. Default: the
	// table's name. Package sqlarchive sets it to the archive's name
	// (such as "fib@v2" for the table fib__v2), the Name of its memos'
	// events too, so that metrics keep a memo and its table under one
	// label.
	EventName string

	// ReadDB, if not nil, is a read replica of the database behind the
	// Querier of Open, such as a PostgreSQL hot standby: Get, GetExpiry,
	// Has and GetMany read it first, and read the primary (the Querier of
	// Open) for the keys it does not have, so that a write it has yet to
	// replay is never reported missing; Len, Keys, All, Rows and CopyTo
	// read it only, and lag as it does. Every write, and every other
	// read, goes to the primary. See "Read replicas" in the package
	// documentation. The Table does not close it. Nil, the default, reads
	// the primary. A Table over a *sql.Tx takes none.
	ReadDB Querier
}

// beginner is what a Querier has when it is not bound to one transaction:
// *sql.DB and *sql.Conn, and the types that embed them.
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// Table is an archive that is one table of a database: one row per key,
// keyed by the SHA-256 of the key text (see the package documentation for
// the layout). It implements cache.Archive, cache.Lister, cache.ManyPutter
// and cache.ArgsPutter.
//
// A Table over a *sql.DB is safe for concurrent use. Over a *sql.Conn or a
// *sql.Tx, its calls must not overlap, and a loop over Keys or All must not
// call the Table (or the connection) in its body.
type Table[V any] struct {
	db         Querier
	conn       beginner // db, unless db is a transaction
	d          *dialect.Dialect
	name       string
	codec      codec.Codec
	stored     bool         // Options.Stored: V is []byte, the values as stored
	noPrepare  bool         // Options.NoPrepare: statements are sent as SQL
	jsonbValue bool         // the value column is PostgreSQL's jsonb
	jsonbArgs  bool         // the args column is PostgreSQL's jsonb
	ttl        atomic.Int64 // time.Duration; SetTTL changes it
	now        func() time.Time
	retries    int
	maxValue   int
	maxPacket  int     // MySQL's max_allowed_packet; 0 on other databases
	handle     *handle // what Open learned about the *sql.DB; nil over other Queriers
	argsKeys   *keymap.Keymap
	sql        queries
	feed       *feed          // nil when the database has no change feed
	access     *accessBuffer  // nil without Options.AccessLog
	obs        cache.Observer // Options.Observer, or nil
	eventName  string         // Options.EventName, or name
	replica    *replica       // nil without Options.ReadDB
	closed     atomic.Bool

	mu    sync.Mutex // guards batch
	batch map[batchKey]*sql.Stmt

	// Bounds (see bounds.go): nil when unbounded.
	bounds       atomic.Pointer[bounded]
	pendingRows  atomic.Int64 // rows written since the last check
	pendingBytes atomic.Int64 // bytes written since the last check
	evictMu      sync.Mutex   // held by the goroutine evicting
}

// Open returns the archive table called name in the database behind db,
// creating the table if it does not exist. name must pass
// [dialect.ValidateTableName]. opts may be nil, and is not modified; its
// Dialect is checked against the database, or found from it, by
// [dialect.Resolve]. Errors about opts and db wrap [ErrInvalidOptions].
//
// When db is a *sql.DB, the table is created under [dialect.Dialect.WithDDLLock],
// so that processes opening one table at the same time take turns. When db
// can begin transactions (a *sql.DB or a *sql.Conn), Open prepares the
// statements of the single-key operations once (unless
// [Options].NoPrepare); release them with [Table.Close]. When db is a
// *sql.Tx, the Table works inside that transaction, and must not be used after it ends. On MySQL, a CREATE TABLE
// inside a transaction commits it: create tables outside transactions.
//
// Open checks that an existing table has the layout of an archive table:
// its columns, key_hash as its primary key (or alone in a unique key), and
// column types that hold what a Table stores, with a value column that
// suits the codec (JSON or binary; gob and raw values share one column
// type). A table created otherwise, by hand or by other tools, passes if
// its types are equivalent, such as VARCHAR for TEXT; one that does not is
// an error wrapping [ErrLayout] that lists the differences. On MySQL Open
// reads max_allowed_packet, so that writes that cannot fit are refused
// before they are sent.
func Open[V any](ctx context.Context, db Querier, name string, opts *Options) (*Table[V], error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := dialect.ValidateTableName(name); err != nil {
		return nil, fmt.Errorf("sqltable: open: %w", err)
	}
	if err := o.validate(); err != nil {
		return nil, errmark.Errorf(ErrInvalidOptions, "sqltable %s: open: %w", name, err)
	}
	if db == nil {
		return nil, errmark.Errorf(ErrInvalidOptions, "sqltable %s: open: nil Querier", name)
	}
	if o.Stored {
		if _, ok := any(new(V)).(*[]byte); !ok {
			return nil, errmark.Errorf(ErrInvalidOptions, "sqltable %s: open: Options.Stored needs []byte values, not %v", name, reflect.TypeFor[V]())
		}
	} else if err := codec.Check[V](o.Codec); err != nil {
		return nil, errmark.Errorf(ErrInvalidOptions, "sqltable %s: open: %w", name, err)
	}
	argsKeys, err := keymap.NewEncoded(keymap.JSON, o.ArgsOptions)
	if err != nil {
		return nil, errmark.Errorf(ErrInvalidOptions, "sqltable %s: open: Options.ArgsOptions: %w", name, err)
	}
	d, err := dialect.Resolve(ctx, db, o.Dialect)
	if err != nil {
		return nil, fmt.Errorf("sqltable %s: open: %w", name, err)
	}
	q, err := buildQueries(d, name)
	if err != nil {
		return nil, fmt.Errorf("sqltable %s: open: %w", name, err)
	}
	t := &Table[V]{
		db:       db,
		d:        d,
		name:     name,
		codec:    o.Codec,
		stored:   o.Stored,
		now:      o.Clock,
		retries:  o.Retries,
		maxValue: o.MaxValueBytes,
		argsKeys: argsKeys,
		sql:      q,
		obs:      o.Observer,
	}
	t.eventName = o.EventName
	if t.eventName == "" {
		t.eventName = name
	}
	t.noPrepare = o.NoPrepare
	t.ttl.Store(int64(o.TTL))
	if t.now == nil {
		t.now = time.Now
	}
	switch {
	case t.retries == 0:
		t.retries = DefaultRetries
	case t.retries < 0:
		t.retries = 0
	}
	if c, ok := db.(beginner); ok {
		t.conn = c
	} else {
		t.retries = 0
	}
	if o.ReadDB != nil && t.conn == nil {
		return nil, errmark.Errorf(ErrInvalidOptions, "sqltable %s: open: a Table over a %T reads its own writes: it takes no Options.ReadDB", name, db)
	}
	if o.AccessLog != nil && !accessQuerier(db) {
		return nil, errmark.Errorf(ErrInvalidOptions, "sqltable %s: open: Options.AccessLog needs a *sql.DB, not a %T", name, db)
	}
	types, err := t.open(ctx, o.FeedWindow, o.RequireFeed, o.bounds())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqltable %s: open: %w", name, err), t.Close())
	}
	if err := t.openAccess(o.AccessLog, types); err != nil {
		return nil, errors.Join(fmt.Errorf("sqltable %s: open: %w", name, err), t.Close())
	}
	if t.replica, err = t.openReplica(ctx, o.ReadDB); err != nil {
		return nil, errors.Join(fmt.Errorf("sqltable %s: open: %w", name, err), t.Close())
	}
	return t, nil
}

// bounds returns the bounds of o.
func (o *Options) bounds() Bounds {
	return Bounds{MaxEntries: o.MaxEntries, MaxBytes: o.MaxBytes, Evict: o.Evict}
}

// validate says what is wrong with o, if anything.
func (o *Options) validate() error {
	switch {
	case !o.Codec.Valid():
		return fmt.Errorf("invalid codec %v", o.Codec)
	case o.TTL < 0:
		return fmt.Errorf("negative TTL %v", o.TTL)
	case o.FeedWindow > 0 && o.FeedWindow < minFeedWindow:
		return fmt.Errorf("FeedWindow %d is under %d", o.FeedWindow, minFeedWindow)
	case o.MaxValueBytes < 0:
		return fmt.Errorf("negative MaxValueBytes %d", o.MaxValueBytes)
	}
	return o.bounds().Validate()
}

// open creates the table if needed, checks its layout, finds the change
// feed, learns the server's packet limit and prepares the single-key
// statements. It returns the types of the table's columns, as columnTypes
// reads them.
func (t *Table[V]) open(ctx context.Context, feedWindow int, requireFeed bool, bounds Bounds) (map[string]string, error) {
	// The columns are read first: a table that has some exists, and
	// needs no other query to find out.
	var types map[string]string
	readTypes := func(ctx context.Context) (err error) {
		types, err = t.columnTypes(ctx, t.name)
		return err
	}
	if err := t.do(ctx, true, readTypes); err != nil {
		return nil, err
	}
	if len(types) == 0 {
		if err := t.do(ctx, true, t.create); err != nil {
			return nil, err
		}
		if err := t.do(ctx, true, readTypes); err != nil {
			return nil, err
		}
	}
	if err := t.checkLayout(ctx, types); err != nil {
		return nil, err
	}
	// PutMany's JSON array (see pgJSONUpsert) stores what Put stores only
	// in a jsonb column: a json column, which tables made by other tools
	// may have, keeps the text as sent.
	t.jsonbValue = t.d == dialect.Postgres && strings.EqualFold(types["value"], "jsonb")
	t.jsonbArgs = t.d == dialect.Postgres && strings.EqualFold(types["args"], "jsonb")
	if s := t.newBounded(bounds); s != nil {
		if err := t.createEvictIndex(ctx, s); err != nil {
			return nil, err
		}
		t.bounds.Store(s)
		t.pendingRows.Store(checkNow) // the first write checks
	}
	t.handle = handleOf(t.db)
	err := t.do(ctx, true, func(ctx context.Context) error {
		var err error
		t.feed, err = t.openFeed(ctx, feedWindow, requireFeed)
		return err
	})
	if err != nil {
		return nil, err
	}
	if t.d == dialect.MySQL {
		if err := t.readMaxPacket(ctx); err != nil {
			return nil, err
		}
	}
	if t.noPrepare {
		return types, nil
	}
	// Over a transaction, the statements are prepared on it, and last as
	// long as it does.
	var p preparer = t.conn
	if t.conn == nil {
		if p, _ = t.db.(preparer); p == nil {
			return types, nil
		}
	}
	for _, s := range t.prepared() {
		ps, err := p.PrepareContext(ctx, s.query)
		if err != nil {
			if t.feed != nil && s == &t.feed.record {
				err = t.feedError(err) // gone since an earlier Table found it
			}
			return nil, fmt.Errorf("prepare: %w", err)
		}
		s.ps, s.inTx = ps, t.conn == nil
	}
	return types, nil
}

// readMaxPacket sets t.maxPacket to MySQL's max_allowed_packet: the one
// that an earlier Table over the same *sql.DB read, or else read now.
func (t *Table[V]) readMaxPacket(ctx context.Context) error {
	if t.handle != nil {
		if n := t.handle.maxPacket.Load(); n > 0 {
			t.maxPacket = int(n)
			return nil
		}
	}
	err := t.do(ctx, true, func(ctx context.Context) error {
		return t.db.QueryRowContext(ctx, `SELECT @@max_allowed_packet`).Scan(&t.maxPacket)
	})
	if err != nil {
		return fmt.Errorf("read max_allowed_packet: %w", err)
	}
	if t.handle != nil {
		t.handle.maxPacket.Store(int64(t.maxPacket))
	}
	return nil
}

// preparer is what a Querier has when it prepares statements: *sql.DB,
// *sql.Conn and *sql.Tx, and the types that embed them.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// prepared returns the statements that are prepared once per Table: those
// of single keys, and the record of changes.
func (t *Table[V]) prepared() []*stmt {
	stmts := t.sql.prepared()
	if t.feed != nil {
		stmts = append(stmts, &t.feed.record)
	}
	return stmts
}

// create creates the table unless it exists.
func (t *Table[V]) create(ctx context.Context) error {
	exists, err := t.d.TableExists(ctx, t.db, t.name)
	if err != nil || exists {
		return err
	}
	ddl, err := t.d.CreateTable(t.name, t.codec)
	if err != nil {
		return err
	}
	run := func(ctx context.Context, q dialect.Querier) error {
		for _, stmt := range ddl {
			if _, err := q.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("create table: %w", err)
			}
		}
		return nil
	}
	if db, ok := t.db.(*sql.DB); ok {
		return t.d.WithDDLLock(ctx, db, t.name, run)
	}
	// Without the lock, another process may create the table at the same
	// time, which PostgreSQL reports as an error (see WithDDLLock).
	if err := run(ctx, t.db); err != nil {
		if exists, _ := t.d.TableExists(ctx, t.db, t.name); !exists {
			return err
		}
	}
	return nil
}

// columnTypes returns the types of the columns of table, by name, both in
// lower case; none if the table does not exist.
func (t *Table[V]) columnTypes(ctx context.Context, table string) (map[string]string, error) {
	rows, err := t.db.QueryContext(ctx, t.sql.columns, table)
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", table, err)
	}
	defer rows.Close()
	types := make(map[string]string)
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, fmt.Errorf("read the columns of %s: %w", table, err)
		}
		types[strings.ToLower(name)] = strings.ToLower(typ)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", table, err)
	}
	return types, nil
}

// Close releases the statements the Table prepared. It does not close the
// Querier, nor drop the table. Later calls return errors wrapping
// [ErrClosed]; calls running while Close runs may fail. Closing twice is not
// an error.
func (t *Table[V]) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	errs := []error{t.closeAccess(), t.replica.close()}
	for _, s := range t.prepared() {
		if s.ps != nil {
			errs = append(errs, s.ps.Close())
		}
	}
	t.mu.Lock()
	for _, ps := range t.batch {
		errs = append(errs, ps.Close())
	}
	t.batch = nil
	t.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return t.errorf("close: %w", err)
	}
	return nil
}

// Drop drops the table, with every entry, and closes t. t is closed first
// (its prepared statements would hold the table on some databases), so it
// is closed even when the drop fails: open the table again to retry.
func (t *Table[V]) Drop(ctx context.Context) error {
	if t.closed.Load() {
		return t.closedf("drop")
	}
	if err := t.Close(); err != nil {
		return err
	}
	stmt, err := t.d.DropTable(t.name)
	if err == nil {
		// MySQL commits the drop at once, and the record after it.
		err = t.change(ctx, opDrop, nil, func(ctx context.Context, q Querier) (bool, error) {
			_, err := q.ExecContext(ctx, stmt)
			return true, err
		})
	}
	if err != nil {
		return t.errorf("drop: %w", err)
	}
	return nil
}

// Name returns the name of the table.
func (t *Table[V]) Name() string { return t.name }

// Dialect returns the dialect of the table's database.
func (t *Table[V]) Dialect() *dialect.Dialect { return t.d }

// TTL returns how long the table's entries live after they are written,
// zero for ever (Options.TTL).
func (t *Table[V]) TTL() time.Duration { return time.Duration(t.ttl.Load()) }

// Codec returns the codec of the table's values.
func (t *Table[V]) Codec() codec.Codec { return t.codec }

// errorf returns an error prefixed with the package and the table name,
// the subject of every error of a Table: format starts with the operation,
// and names the key if there is one (see the package documentation).
func (t *Table[V]) errorf(format string, args ...any) error {
	return fmt.Errorf("sqltable "+t.name+": "+format, args...)
}

// errTableClosed is ErrClosed as the messages of a Table's methods say it.
var errTableClosed = errmark.Errorf(ErrClosed, "table is closed")

// closedf returns the error of the operation format describes on a closed
// Table: it wraps ErrClosed.
func (t *Table[V]) closedf(format string, args ...any) error {
	return t.errorf("%s: %w", fmt.Sprintf(format, args...), errTableClosed)
}

// nowArg returns the current time as a bind argument.
func (t *Table[V]) nowArg() any { return t.d.TimeArg(t.now()) }

// expiry returns the expires_at bind argument of an entry written at now.
func (t *Table[V]) expiry(now time.Time) any {
	ttl := time.Duration(t.ttl.Load())
	if ttl == 0 {
		return nil
	}
	return t.d.TimeArg(now.Add(ttl))
}

// txOptions are the options of the Table's own transactions. MySQL's
// default REPEATABLE READ takes gap locks that make concurrent batches
// deadlock more often.
func (t *Table[V]) txOptions() *sql.TxOptions {
	if t.d == dialect.MySQL {
		return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return nil
}

// inTx runs fn in a new transaction, committed if fn returns nil.
func (t *Table[V]) inTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	tx, err := t.conn.BeginTx(ctx, t.txOptions())
	if err != nil {
		return err
	}
	if err := fn(ctx, tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err
	}
	return tx.Commit()
}

package sqlarchive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/internal/ratelog"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqltable"
)

var (
	// ErrNotFound is wrapped by the errors of Info, Stats and Drop for an
	// archive that the catalog does not list.
	ErrNotFound = errors.New("sqlarchive: no such archive")

	// ErrNoCatalog is returned by Open with
	// [Options].SkipMigrate when the database has no catalog table.
	ErrNoCatalog = errors.New("sqlarchive: the catalog table " + migrations.ArchivesTable +
		" does not exist; run `klepto-sql migrate up`, or apply the SQL of package migrations")

	// ErrInvalidName is wrapped by the errors of functions given an archive
	// name that is not valid (see [TableName]). When the table name is at
	// fault, the error also wraps [dialect.ErrInvalidTableName].
	ErrInvalidName = errors.New("sqlarchive: invalid archive name")

	// ErrClosed is returned by the methods of an Archive after Archive.Close.
	ErrClosed = errors.New("sqlarchive: archive is closed")

	// ErrNoFeed is wrapped by the errors of Open with Options.SkipMigrate,
	// and of memos, when the database lacks the change feed, the leases or
	// the catalog's statistics or type columns of klepto's latest
	// migrations.
	ErrNoFeed = errors.New("sqlarchive: the database lacks klepto's latest migrations (change feed, leases, catalog statistics or types)")

	// ErrInvalidOptions is wrapped by the errors of [Open], [Table],
	// [Memoize], [CreateLike], [Copy], [Dump], [Load] and [Stored] about
	// their arguments: options that are not valid, a nil *sql.DB, *Archive or
	// function. An invalid archive name is an error wrapping
	// [ErrInvalidName] instead.
	ErrInvalidOptions = errors.New("sqlarchive: invalid options")
)

// Options configure [Open]. A nil *Options and the zero value both mean:
// the dialect found from the database's driver, migrations applied, and
// time.Now.
type Options struct {
	// Dialect is the dialect of the database: dialect.SQLite,
	// dialect.MySQL or dialect.Postgres. Nil means the one that
	// dialect.Detect finds from the driver of the *sql.DB. A named dialect
	// that does not match the driver is an error wrapping a
	// *dialect.MismatchError.
	Dialect *dialect.Dialect

	// SkipMigrate leaves the schema alone, for teams that apply klepto's
	// migrations with their own tools (see package migrations): Open then
	// only checks that the catalog table exists, and returns an error
	// wrapping ErrNoCatalog if it does not, or ErrNoFeed if the later
	// migrations (the change feed, the leases, the catalog's statistics
	// and its type columns, migration 7) are missing. By default
	// Open applies any pending migration with migrations.Up; it also leaves
	// the schema alone, without SkipMigrate, when another tool applied every
	// migration (see Open). On a MariaDB Galera node whose schema is not
	// found up to date at once, Open waits for the node to apply what the
	// cluster committed, so that migrations just applied through another
	// node are found.
	SkipMigrate bool

	// Clock returns the current time; the default is time.Now. The
	// catalog's timestamps, the tables' timestamps and expiries (see
	// sqltable.Options.Clock), the expiries of memos' entries in memory and
	// the expired counts of Stats come from it. Leases use the database's
	// clock instead.
	Clock func() time.Time

	// PollInterval is how often the follower reads the change feed, and so
	// the longest a change takes to reach the memory of the memos of other
	// processes. Zero means DefaultPollInterval (100 ms). With a Listener,
	// the follower also reads the feed as soon as it is notified, and keeps
	// polling in case the listening connection is lost unnoticed.
	PollInterval time.Duration

	// FeedWindow is how many changes the change feed keeps: the tables of
	// the Archive delete older ones as they record changes (see
	// sqltable.Options.FeedWindow). Zero means sqltable.DefaultFeedWindow
	// (10,000); negative, never delete; otherwise at least 256. A follower
	// that falls behind by half the window, because it could not read the
	// feed for a while, drops the memory of its memos. Give every process
	// sharing the database the same window.
	FeedWindow int

	// Listener, on PostgreSQL, receives the notifications of the change
	// feed and of leases, so that changes reach memory as they commit (see
	// [Listener] and package sqlarchive/pqlisten). Nil means polling only.
	// Close closes it.
	Listener Listener

	// ExpireInterval, when positive, starts the janitor: a goroutine that
	// every ExpireInterval deletes expired entries from the tables of the
	// catalog's archives, at most ExpireBatch per round (see
	// Archive.DeleteExpired), until Close. Zero, the default, means no
	// janitor: expired entries are misses for every read, and stay stored
	// until they are written again, purged or deleted by DeleteExpired.
	// One janitor per database is enough, but several, in one process or
	// many, may run at once.
	ExpireInterval time.Duration

	// ExpireBatch is the most expired entries a round of the janitor
	// deletes, over all tables. Zero means DefaultExpireBatch (1,000).
	ExpireBatch int

	// StatsInterval is how often the Archive writes the statistics it
	// gathers in memory: the reads of its tables, to the hits and
	// accessed_at columns of their rows, and the counts of its memos, to
	// the hits, misses and loads of their catalog rows (see
	// [Archive.FlushStats]). Zero means DefaultStatsInterval (2 s); it
	// must not be negative.
	StatsInterval time.Duration

	// NoAccessStats leaves the hits and accessed_at columns of the
	// Archive's tables alone: by default each entry that a Get of a table
	// (or of a memo's archive) finds is counted in memory and added to its
	// row every StatsInterval (see sqltable.AccessLog). The catalog's
	// counts are kept either way.
	NoAccessStats bool

	// Observer, if set, receives the events of the Archive's tables (see
	// sqltable.Options.Observer), of the memos Memoize makes, unless
	// MemoizeOptions.Memo names another (see cache.MemoOptions.Observer),
	// and the errors of the Archive's background work, with source
	// cache.SourceArchive and op "follow" (a failed read of the change
	// feed), "expire" (a failed round of the janitor), "flush stats" (a
	// failed write of the catalog's counts), "renew lease" (a failed
	// renewal of the lease of a call under way, tried again soon) or
	// "release leases" (a failed
	// release of the leases of memos' calls, which are then left to
	// expire: see MemoizeOptions.LeaseTTL), and the source
	// cache.SourceTable with op "flush access" (a failed write of the
	// tables' hits). Nil means none.
	Observer cache.Observer

	// Logger, if set, receives the errors of the Archive's background work
	// that Observer receives, and is the Logger of the memos Memoize makes
	// unless MemoizeOptions.Memo names another (it then receives the
	// errors their Safe option hides): at level Error, at most one record
	// a minute for each operation that failed, the next record saying how
	// many were left out. Nil means no logging.
	Logger *slog.Logger

	// NoPrepare sends every statement of the Archive, its tables, memos
	// and leases as SQL, never preparing one to keep across calls (see
	// sqltable.Options.NoPrepare). Set it when db reaches PostgreSQL
	// through a pooler in transaction mode, such as PgBouncer's
	// pool_mode=transaction; see docs/deploying.md for the DSN and for
	// what else needs a direct connection (a Listener, and on a pool of
	// one connection, migrations). The default, false, prepares them.
	NoPrepare bool

	// ReadDB, if not nil, is a read replica of db, such as a PostgreSQL
	// hot standby: the tables that Table and Memoize open read it first
	// (see sqltable.Options.ReadDB: a key the replica lacks is read from
	// db, so replication lag never makes a memo compute a stored result
	// again), and the follower reads the change feed from it, so that a
	// change reaches memory once the replica has it, never before. Every
	// write, the catalog, leases, Stats, Dump and Copy use db. See "Read
	// replicas" in the package documentation. Close does not close it.
	// Nil, the default, reads db.
	ReadDB *sql.DB
}

// Archive is a database of archive tables with a catalog: each archive has
// a name, a row in the catalog table klepto_archives and a table of its
// own, which [Table] opens and [Memoize] memoizes into. An Archive never
// lists, opens or drops a table that its catalog does not name.
//
// An Archive is safe for concurrent use, and several Archives, in one
// process or many, may share a database.
type Archive struct {
	db         *sql.DB
	readDB     *sql.DB // Options.ReadDB; nil without
	d          *dialect.Dialect
	now        func() time.Time
	sql        catalogSQL
	feedWindow int
	noPrepare  bool // Options.NoPrepare

	follower *follower     // reads the change feed for memos and Watch
	leases   *leaser       // leases of memos' keys
	janitor  *janitor      // deletes expired entries
	stats    *catalogStats // counts of the memos, for the catalog

	noAccess      bool           // Options.NoAccessStats
	obs           cache.Observer // Options.Observer, or nil
	logger        *slog.Logger   // Options.Logger, or nil
	report        *reporter      // of the background work
	statsInterval time.Duration  // Options.StatsInterval, or its default

	mu     sync.Mutex // guards following fields
	closed bool
	opened map[string][]io.Closer // tables returned by Table and Memoize, by archive name
	access *sqltable.AccessLog    // reads of the tables, made with the first table; nil before, and with noAccess
}

// Open returns the Archive of the database behind db. opts may be nil; the
// dialect is opts.Dialect, checked against db's driver, or the one found
// from it (see dialect.Resolve). Unless opts.SkipMigrate is set, Open first
// applies klepto's migrations (migrations.Up), which create the catalog;
// several processes may do so at once. If klepto's tables are those of the
// latest migration but its version table records none, or another version,
// another tool applied them (such as golang-migrate's command, with the
// files of migrations.Generate): Open then uses them as they are, as with
// SkipMigrate. Open fails, saying what it found and what to run, if the
// tables match neither the recorded version nor the latest, or no single
// version, or if the record is dirty (a migration failed part way): the
// error wraps a *migrations.SchemaError or a *migrations.DirtyError. On a
// database whose schema is up to date, Open sends one query and none of
// these steps (see Schema in the package documentation).
//
// Close the Archive when done with it. Closing it does not close db, which
// the caller keeps and closes; db must outlive the Archive and the tables
// it returns. On SQLite, db must be a pool that may write (see
// dialect.SQLiteDSN).
func Open(ctx context.Context, db *sql.DB, opts *Options) (*Archive, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	switch {
	case db == nil:
		return nil, errmark.Errorf(ErrInvalidOptions, "sqlarchive: open: nil *sql.DB")
	case o.PollInterval < 0:
		return nil, errmark.Errorf(ErrInvalidOptions, "sqlarchive: open: negative PollInterval %v", o.PollInterval)
	case o.FeedWindow > 0 && o.FeedWindow < 256:
		return nil, errmark.Errorf(ErrInvalidOptions, "sqlarchive: open: FeedWindow %d is under 256", o.FeedWindow)
	case o.ExpireInterval < 0:
		return nil, errmark.Errorf(ErrInvalidOptions, "sqlarchive: open: negative ExpireInterval %v", o.ExpireInterval)
	case o.ExpireBatch < 0:
		return nil, errmark.Errorf(ErrInvalidOptions, "sqlarchive: open: negative ExpireBatch %d", o.ExpireBatch)
	case o.StatsInterval < 0:
		return nil, errmark.Errorf(ErrInvalidOptions, "sqlarchive: open: negative StatsInterval %v", o.StatsInterval)
	}
	if o.StatsInterval == 0 {
		o.StatsInterval = DefaultStatsInterval
	}
	d, err := dialect.Resolve(ctx, db, o.Dialect)
	if err != nil {
		return nil, fmt.Errorf("sqlarchive: open: %w", err)
	}
	if o.ReadDB != nil {
		if _, err := dialect.Resolve(ctx, o.ReadDB, d); err != nil {
			return nil, fmt.Errorf("sqlarchive: open: Options.ReadDB: %w", err)
		}
	}
	// A database with the latest schema, the common case after the first
	// Open, needs one query: see upToDate.
	skip, checked := o.SkipMigrate, upToDate(ctx, db, d)
	if !skip && !checked {
		if skip, err = migrate(ctx, db, d); err != nil {
			return nil, fmt.Errorf("sqlarchive: open: %w", err)
		}
	}
	if skip && !checked {
		if err := catchUp(ctx, db, d); err != nil {
			return nil, fmt.Errorf("sqlarchive: open: %w", err)
		}
		exists, err := d.TableExists(ctx, db, migrations.ArchivesTable)
		if err != nil {
			return nil, fmt.Errorf("sqlarchive: open: %w", err)
		}
		if !exists {
			return nil, ErrNoCatalog
		}
		for _, table := range []string{migrations.ChangesTable, migrations.LeasesTable} {
			if exists, err = d.TableExists(ctx, db, table); err != nil {
				return nil, fmt.Errorf("sqlarchive: open: %w", err)
			} else if !exists {
				return nil, fmt.Errorf("%w: it has no %s table; run `klepto-sql migrate up`, or apply the migrations of package migrations",
					ErrNoFeed, table)
			}
		}
		if err := checkCatalogColumns(ctx, db, d); err != nil {
			return nil, err
		}
	}
	q, err := newCatalogSQL(d)
	if err != nil {
		return nil, fmt.Errorf("sqlarchive: open: %w", err)
	}
	a := &Archive{db: db, readDB: o.ReadDB, d: d, now: o.Clock, sql: q, feedWindow: o.FeedWindow, opened: make(map[string][]io.Closer)}
	if a.now == nil {
		a.now = time.Now
	}
	a.noAccess, a.statsInterval = o.NoAccessStats, o.StatsInterval
	a.obs, a.logger = o.Observer, o.Logger
	a.report = &reporter{obs: o.Observer, log: ratelog.New(o.Logger, a.now)}
	a.stats = newCatalogStats(db, d, a.now, o.StatsInterval)
	a.stats.report = a.report
	a.follower = newFollower(a.feedDB(), d, o.PollInterval, o.FeedWindow, o.Listener)
	a.follower.replica = o.ReadDB != nil
	a.follower.report = a.report
	a.leases = newLeaser(db, d, a.follower)
	a.leases.noPrepare = o.NoPrepare
	a.leases.report = a.report
	a.noPrepare = o.NoPrepare
	a.janitor = &janitor{a: a, interval: o.ExpireInterval, batch: o.ExpireBatch}
	if a.janitor.batch == 0 {
		a.janitor.batch = DefaultExpireBatch
	}
	a.janitor.start(ctx)
	return a, nil
}

// migrate applies klepto's pending migrations to db, whose dialect is d.
// It reports skip if klepto's tables are those of the latest migration but
// klepto_schema_migrations does not record it: another tool applies them
// (see migrations.SchemaError), and Open uses them as they are, as with
// Options.SkipMigrate.
func migrate(ctx context.Context, db *sql.DB, d *dialect.Dialect) (skip bool, err error) {
	err = migrations.Up(ctx, db, &migrations.Options{Dialect: d})
	if se, ok := errors.AsType[*migrations.SchemaError](err); ok && !se.Found.Mixed {
		list, lerr := migrations.List(d)
		if lerr != nil {
			return false, errors.Join(err, lerr)
		}
		if se.Found.Version == list[len(list)-1].Version {
			return true, nil
		}
	}
	if err != nil && !errors.Is(err, migrations.ErrNoChange) {
		return false, err
	}
	return false, nil
}

// Close stops the janitor (ending a round under way) and the follower of
// the change feed, waits for the releases of leases under way, closes the
// Listener, writes the statistics gathered since the last flush (see
// [Archive.FlushStats]) within 5 s, and closes every table that Table and
// Memoize returned (closing one of them earlier is fine), which releases
// their prepared statements; memos over them then fail to reach their
// archive. Close does not close the *sql.DB, nor drop anything. Later
// calls of the Archive's methods return ErrClosed; closing twice is not an
// error.
func (a *Archive) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	opened, access := a.opened, a.access
	a.opened = nil
	a.mu.Unlock()

	a.janitor.close()
	errs := []error{a.follower.close(), a.leases.close()}
	// The statistics, both within 5 s: then the tables have no reads left
	// to write as they close.
	var accessErr, statsErr error
	var wg sync.WaitGroup
	if access != nil {
		wg.Go(func() { accessErr = access.Close() })
	}
	wg.Go(func() { statsErr = a.stats.close() })
	wg.Wait()
	errs = append(errs, accessErr, statsErr)
	for _, name := range slices.Sorted(maps.Keys(opened)) {
		for _, t := range opened[name] {
			errs = append(errs, t.Close())
		}
	}
	return errors.Join(errs...)
}

// Dialect returns the dialect of the Archive's database.
func (a *Archive) Dialect() *dialect.Dialect { return a.d }

// Info returns the catalog row of the archive called name. It returns an
// error wrapping ErrNotFound if the catalog has none, and one wrapping
// ErrInvalidName if name is not a valid archive name.
func (a *Archive) Info(ctx context.Context, name string) (TableInfo, error) {
	return a.infoOn(ctx, a.db, name)
}

// infoOn is Info reading the catalog over q: the Archive's *sql.DB, or a
// transaction of it.
func (a *Archive) infoOn(ctx context.Context, q dialect.Querier, name string) (TableInfo, error) {
	if err := a.check(); err != nil {
		return TableInfo{}, err
	}
	if _, _, err := TableName(name); err != nil {
		return TableInfo{}, err
	}
	info, found, err := lookup(ctx, a.d, q, a.sql.byName, name)
	if err != nil {
		return TableInfo{}, fmt.Errorf("sqlarchive: info %q: %w", name, err)
	}
	if !found {
		return TableInfo{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return info, nil
}

// Tables returns the catalog rows of every archive, sorted by name. Only
// archives made through an Archive are listed: other tables of the
// database are not. A broken catalog row is listed with TableInfo.Err
// saying what is wrong; it does not make Tables fail.
func (a *Archive) Tables(ctx context.Context) ([]TableInfo, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	rows, err := a.db.QueryContext(ctx, a.sql.list)
	if err != nil {
		return nil, fmt.Errorf("sqlarchive: read catalog: %w", err)
	}
	defer rows.Close()
	var infos []TableInfo
	for rows.Next() {
		info, broken, err := scanInfo(a.d, rows)
		if err != nil {
			return nil, fmt.Errorf("sqlarchive: read catalog: %w", err)
		}
		info.Err = wrapArchive(info.Name, broken)
		infos = append(infos, info)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlarchive: read catalog: %w", err)
	}
	// Sorted here, in byte order, whatever the database's collation.
	slices.SortFunc(infos, func(x, y TableInfo) int { return strings.Compare(x.Name, y.Name) })
	return infos, nil
}

// Drop drops the table of the archive called name, with all its entries,
// and then removes its catalog row, both under the table's DDL lock (see
// dialect.Dialect.WithDDLLock); on PostgreSQL and SQLite the two happen
// together or not at all. The tables of the archive that this Archive's
// Table and Memoize returned are closed; those of other Archives fail from
// then on. Drop returns an error wrapping ErrNotFound if the catalog has
// no archive called name.
func (a *Archive) Drop(ctx context.Context, name string) error {
	if err := a.check(); err != nil {
		return err
	}
	table, _, err := TableName(name)
	if err != nil {
		return err
	}
	err = a.d.WithDDLLock(ctx, a.db, table, func(ctx context.Context, q dialect.Querier) error {
		info, found, err := lookup(ctx, a.d, q, a.sql.byName, name)
		if err != nil && !errors.Is(err, ErrBrokenCatalog) { // a broken archive can be dropped
			return fmt.Errorf("sqlarchive: drop %q: %w", name, err)
		}
		if !found {
			return fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		// The table goes first: if the catalog row outlives it (MySQL
		// commits each statement), dropping again finishes the job, and
		// opening the archive again creates an empty table.
		drop, err := a.d.DropTable(info.Table)
		if err != nil {
			return fmt.Errorf("sqlarchive: drop %q: %w", name, err)
		}
		if _, err := q.ExecContext(ctx, drop); err != nil {
			return fmt.Errorf("sqlarchive: drop %q: %w", name, err)
		}
		if _, err := q.ExecContext(ctx, a.sql.delete, name); err != nil {
			return fmt.Errorf("sqlarchive: drop %q: delete catalog row: %w", name, err)
		}
		// Other processes drop the archive's entries from memory, and
		// open the table again when they next use it.
		if _, err := q.ExecContext(ctx, a.sql.dropped, info.Table); err != nil {
			return fmt.Errorf("sqlarchive: drop %q: record the drop in the change feed: %w", name, feedError(err))
		}
		return nil
	})
	if err != nil {
		return err
	}
	a.mu.Lock()
	opened := a.opened[name]
	delete(a.opened, name)
	a.mu.Unlock()
	var errs []error
	for _, t := range opened {
		errs = append(errs, t.Close())
	}
	return errors.Join(errs...)
}

// Stats are figures about the entries of one archive, computed by the
// database with one aggregate query over its table.
type Stats struct {
	Rows    int64     // entries in the table, expired ones included
	Expired int64     // entries that have expired but are still stored
	Bytes   int64     // the sum of the sizes of the encoded values, in bytes
	Oldest  time.Time // the earliest time an entry was written, in UTC; zero when empty
	Newest  time.Time // the latest time an entry was written, in UTC; zero when empty
}

// Stats returns figures about the entries of the archive called name,
// computed by the database in one scan of its table: the time it takes
// grows with the number of entries. Entries expire as of Options.Clock.
// Stats returns an error wrapping ErrNotFound if the catalog has no archive
// called name.
func (a *Archive) Stats(ctx context.Context, name string) (Stats, error) {
	info, err := a.Info(ctx, name)
	if err != nil {
		return Stats{}, err
	}
	if err := dialect.ValidateTableName(info.Table); err != nil {
		return Stats{}, fmt.Errorf("sqlarchive: stats: catalog row %q: %w", name, err)
	}
	c := a.d.QuoteIdent
	query := a.d.Rebind("SELECT COUNT(*)" +
		", COALESCE(SUM(CASE WHEN " + c("expires_at") + " <= ? THEN 1 ELSE 0 END), 0)" +
		", COALESCE(SUM(" + c("size_bytes") + "), 0)" +
		", MIN(" + c("updated_at") + "), MAX(" + c("updated_at") + ")" +
		" FROM " + c(info.Table))
	var s Stats
	err = a.db.QueryRowContext(ctx, query, a.d.TimeArg(a.now())).Scan(
		&s.Rows, &s.Expired, &s.Bytes, a.d.ScanTime(&s.Oldest), a.d.ScanTime(&s.Newest))
	if err != nil {
		return Stats{}, fmt.Errorf("sqlarchive: stats %q: %w", name, err)
	}
	return s, nil
}

// accessLog returns the AccessLog of the Archive's tables, made on first
// use; nil with Options.NoAccessStats, or once a is closed.
func (a *Archive) accessLog() *sqltable.AccessLog {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.noAccess || a.closed {
		return nil
	}
	if a.access == nil {
		// The options are valid: NewAccessLog does not fail.
		a.access, _ = sqltable.NewAccessLog(&sqltable.AccessLogOptions{FlushInterval: a.statsInterval, Observer: a.report})
	}
	return a.access
}

// check returns ErrClosed if a is closed.
func (a *Archive) check() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	return nil
}

// forget closes t, a table of the archive called name that keep recorded,
// and stops tracking it.
func (a *Archive) forget(name string, t io.Closer) error {
	a.mu.Lock()
	if ts, ok := a.opened[name]; ok {
		a.opened[name] = slices.DeleteFunc(ts, func(c io.Closer) bool { return c == t })
	}
	a.mu.Unlock()
	return t.Close()
}

// keep records t, a table of the archive called name, for Close and Drop.
// If a was closed meanwhile, it closes t and returns ErrClosed.
func (a *Archive) keep(name string, t io.Closer) error {
	a.mu.Lock()
	if !a.closed {
		a.opened[name] = append(a.opened[name], t)
		a.mu.Unlock()
		return nil
	}
	a.mu.Unlock()
	return errors.Join(ErrClosed, t.Close())
}

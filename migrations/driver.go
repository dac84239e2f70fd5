package migrations

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-migrate/migrate/v4/database"

	"github.com/klepto-sql/klepto/dialect"
)

// connDriver is the golang-migrate database driver of this package. It works
// on a connection of its own taken from the caller's pool, so this package
// imports no database/sql driver, and it keeps the version table, the lock
// keys and the table shapes of golang-migrate's own drivers, so databases
// migrated by either keep working with the other.
type connDriver struct {
	// ctx is the context of the run. Statements that wait for a lock, or
	// that must not stop half way, run on context.WithoutCancel(ctx): the
	// lock waits are bounded by the database, and golang-migrate stops
	// between migrations when ctx is done.
	ctx    context.Context
	db     *sql.DB
	conn   *sql.Conn
	d      *dialect.Dialect
	table  string        // MigrationsTable, quoted, and qualified on PostgreSQL
	lockID string        // PostgreSQL's advisory lock key, MySQL's lock name
	wait   time.Duration // how long Lock waits on MySQL
	locked atomic.Bool   // whether Lock holds the lock; Lock runs in a goroutine of golang-migrate
	target atomic.Int64  // the version last recorded dirty, for errors
	holder string        // on a Galera node, the holder of the cluster's lock row; "" elsewhere
	ttl    time.Duration // on a Galera node, how long the lock row lasts unless renewed: galeraLockTTL

	stopRenewal atomic.Pointer[func()] // stops the renewal of the Galera lock row; nil when none runs

	// golang-migrate runs a migration as SetVersion(v, true), Run,
	// SetVersion(v, false), one after the other. On PostgreSQL and SQLite
	// the three share tx, committed by the last, so a migration and its
	// version record take effect together or not at all. On MySQL, which
	// commits each DDL statement, a migration is one statement, applied
	// whole or not at all; prev is the version record before it, written
	// back if the statement fails.
	tx        *sql.Tx
	prev      int
	prevDirty bool

	// On PostgreSQL, Lock takes the lock in a transaction of its own, on
	// a connection of its own, which Unlock rolls back: a transaction
	// keeps its server connection behind a pooler in transaction mode,
	// where a session lock (pg_advisory_lock) would be taken on one server
	// connection and released, in vain, on another. Over a pool of one
	// connection, where there is no second connection to take, Lock takes
	// the session lock on conn instead, and lockTx is nil.
	lockConn *sql.Conn
	lockTx   *sql.Tx
}

// openDriver takes a connection from db and readies it for golang-migrate:
// Lock waits at most wait for the lock on MySQL and PostgreSQL. On SQLite,
// the caller holds the file lock of [lockSQLite].
func openDriver(ctx context.Context, db *sql.DB, d *dialect.Dialect, wait time.Duration) (*connDriver, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	drv := &connDriver{ctx: ctx, db: db, conn: conn, d: d, table: d.QuoteIdent(MigrationsTable), wait: wait}
	if err := drv.init(); err != nil {
		return nil, errors.Join(err, drv.Close())
	}
	return drv, nil
}

// init derives the lock key, as golang-migrate's drivers do, and creates
// the version table if missing.
func (drv *connDriver) init() error {
	switch drv.d {
	case dialect.Postgres:
		var dbName, schema sql.NullString
		if err := drv.conn.QueryRowContext(drv.ctx, `SELECT current_database(), current_schema()`).Scan(&dbName, &schema); err != nil {
			return fmt.Errorf("find the schema: %w", err)
		}
		if !schema.Valid {
			return errors.New("no current schema: check search_path")
		}
		drv.table = drv.d.QuoteIdent(schema.String) + "." + drv.table
		drv.lockID, _ = database.GenerateAdvisoryLockId(dbName.String, schema.String, MigrationsTable)
	case dialect.MySQL:
		var dbName sql.NullString
		if err := drv.conn.QueryRowContext(drv.ctx, `SELECT DATABASE()`).Scan(&dbName); err != nil {
			return fmt.Errorf("find the database: %w", err)
		}
		if !dbName.Valid {
			return errors.New("no database selected: name one in the DSN")
		}
		drv.lockID, _ = database.GenerateAdvisoryLockId(dbName.String + ":" + MigrationsTable)
		galera, err := syncGalera(drv.ctx, drv.d, drv.conn)
		if err != nil {
			return err
		}
		if galera {
			drv.holder, drv.ttl = galeraHolder(), galeraLockTTL
		}
	}
	return drv.ensureTable()
}

// ensureTable creates the version table if missing, under the lock so that
// concurrent runs do not race to create it.
func (drv *connDriver) ensureTable() (err error) {
	if ok, err := drv.d.TableExists(drv.ctx, drv.conn, MigrationsTable); ok || err != nil {
		return err
	}
	if err := drv.Lock(); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, drv.Unlock()) }()
	// The shapes of golang-migrate's drivers.
	stmts := []string{`CREATE TABLE IF NOT EXISTS ` + drv.table + ` (version bigint not null primary key, dirty boolean not null)`}
	if drv.d == dialect.SQLite {
		stmts = []string{
			`CREATE TABLE IF NOT EXISTS ` + drv.table + ` (version uint64, dirty bool)`,
			`CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON ` + drv.table + ` (version)`,
		}
	}
	for _, s := range stmts {
		err := drv.d.RetryBusy(drv.ctx, func() error {
			_, err := drv.conn.ExecContext(drv.ctx, s)
			return err
		})
		if err != nil {
			return fmt.Errorf("create %s: %w", MigrationsTable, err)
		}
	}
	return nil
}

// Open is not used: [openDriver] makes the driver.
func (drv *connDriver) Open(string) (database.Driver, error) {
	return nil, errors.New("migrations: the driver is made from a *sql.DB, not a URL")
}

// Close ends the driver's connection, never the caller's pool. On MySQL
// and PostgreSQL the connection may still hold the lock or lock_timeout, so
// it is discarded rather than returned to the pool.
func (drv *connDriver) Close() error {
	rerr := drv.rollback()
	drv.unlockTx()
	if stop := drv.stopRenewal.Swap(nil); stop != nil {
		// A run that ends holding the Galera lock row leaves it to expire.
		(*stop)()
	}
	if drv.d == dialect.SQLite {
		return errors.Join(rerr, drv.conn.Close())
	}
	_ = drv.conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = drv.conn.Close()
	return nil
}

// Lock takes the cross-process migration lock: on PostgreSQL
// pg_advisory_xact_lock in a transaction held open until Unlock (see
// lockTx), or pg_advisory_lock over a pool of one connection; GET_LOCK on
// MySQL. On SQLite the file lock that the caller
// holds, and SQLite's own write lock, keep processes apart.
func (drv *connDriver) Lock() error {
	if !drv.locked.CompareAndSwap(false, true) {
		return database.ErrLocked
	}
	if err := drv.lock(); err != nil {
		drv.locked.Store(false)
		return err
	}
	return nil
}

func (drv *connDriver) lock() error {
	ctx := context.WithoutCancel(drv.ctx)
	switch drv.d {
	case dialect.Postgres:
		// pg_advisory_lock waits forever unless lock_timeout (in
		// milliseconds) stops it, with an error that dialect.IsBusy knows.
		timeout := strconv.FormatInt(drv.wait.Milliseconds()+1, 10)
		if drv.db.Stats().MaxOpenConnections == 1 {
			if _, err := drv.conn.ExecContext(ctx, `SELECT set_config('lock_timeout', $1, false)`, timeout); err != nil {
				return fmt.Errorf("set lock_timeout: %w", err)
			}
			return pgLockError(drv.conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, drv.lockID))
		}
		// The wait for a free connection is bounded as the lock's is; the
		// transaction must outlive that bound, so it begins on a
		// connection taken first.
		wctx, cancel := context.WithTimeout(ctx, drv.wait)
		conn, err := drv.db.Conn(wctx)
		cancel()
		if err != nil {
			return &lockError{fmt.Errorf("no free connection for the lock's transaction: %w", err)}
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return errors.Join(fmt.Errorf("take the migration lock: %w", err), conn.Close())
		}
		drv.lockConn, drv.lockTx = conn, tx
		if _, err = tx.ExecContext(ctx, `SELECT set_config('lock_timeout', $1, true)`, timeout); err != nil {
			err = fmt.Errorf("set lock_timeout: %w", err)
		} else {
			err = pgLockError(tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, drv.lockID))
		}
		if err != nil {
			drv.unlockTx()
			return err
		}
	case dialect.MySQL:
		secs := int64(math.Ceil(drv.wait.Seconds()))
		var ok sql.NullBool
		if err := drv.conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, ?)`, drv.lockID, max(secs, 1)).Scan(&ok); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		if !ok.Valid {
			return errors.New("take the migration lock: GET_LOCK failed")
		}
		if !ok.Bool {
			return &lockError{fmt.Errorf("GET_LOCK timed out after %d s", max(secs, 1))}
		}
		if drv.holder != "" {
			if err := drv.galeraLock(ctx); err != nil {
				_, _ = drv.conn.ExecContext(ctx, `SELECT RELEASE_LOCK(?)`, drv.lockID)
				return err
			}
		}
	}
	return nil
}

// pgLockError returns the error of a statement taking PostgreSQL's
// migration lock, if any: a *lockError if lock_timeout stopped it.
func pgLockError(_ sql.Result, err error) error {
	switch {
	case err == nil:
		return nil
	case dialect.IsBusy(err):
		return &lockError{err}
	}
	return fmt.Errorf("take the migration lock: %w", err)
}

// unlockTx ends the transaction that holds PostgreSQL's lock, if any,
// releasing it, and puts its connection back in the pool.
func (drv *connDriver) unlockTx() {
	if drv.lockTx == nil {
		return
	}
	// A rollback that fails leaves the lock to the end of the session:
	// the connection is discarded rather than returned to the pool.
	if err := drv.lockTx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		_ = drv.lockConn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = drv.lockConn.Close()
	drv.lockConn, drv.lockTx = nil, nil
}

// Unlock releases the lock of [connDriver.Lock].
func (drv *connDriver) Unlock() error {
	if !drv.locked.CompareAndSwap(true, false) {
		return database.ErrNotLocked
	}
	if drv.lockTx != nil {
		drv.unlockTx()
		return nil
	}
	var query string
	switch drv.d {
	case dialect.Postgres:
		query = `SELECT pg_advisory_unlock($1)`
	case dialect.MySQL:
		if drv.holder != "" {
			if err := drv.galeraUnlock(context.WithoutCancel(drv.ctx)); err != nil {
				return fmt.Errorf("release the migration lock: %w", err)
			}
		}
		query = `SELECT RELEASE_LOCK(?)`
	default:
		return nil
	}
	if _, err := drv.conn.ExecContext(context.WithoutCancel(drv.ctx), query, drv.lockID); err != nil {
		return fmt.Errorf("release the migration lock: %w", err)
	}
	return nil
}

// Run runs the SQL of one migration: on PostgreSQL and SQLite in the
// transaction that [connDriver.SetVersion] began, rolled back if it fails,
// so that the version record stays at the previous version. Every MySQL
// migration is a single statement, which MySQL applies whole or not at all:
// if it fails, Run writes back the previous version record.
func (drv *connDriver) Run(migration io.Reader) error {
	body, err := io.ReadAll(migration)
	if err != nil {
		return errors.Join(err, drv.rollback())
	}
	query := string(body)
	if strings.TrimSpace(query) == "" {
		return nil
	}
	ctx := context.WithoutCancel(drv.ctx)
	undone := ", and nothing changed"
	if drv.tx != nil {
		if _, err = drv.tx.ExecContext(ctx, query); err != nil {
			if rerr := drv.rollback(); rerr != nil {
				err, undone = errors.Join(err, rerr), ""
			}
		}
	} else if _, err = drv.conn.ExecContext(ctx, query); err != nil && drv.d == dialect.MySQL {
		if rerr := drv.record(ctx, drv.prev, drv.prevDirty); rerr != nil {
			err, undone = errors.Join(err, fmt.Errorf("record version %d again: %w", drv.prev, rerr)), ""
		}
	}
	if err != nil {
		return fmt.Errorf("migration to version %d failed%s: %w", drv.target.Load(), undone, err)
	}
	return nil
}

// transactional reports whether the database runs DDL in transactions.
func (drv *connDriver) transactional() bool { return drv.d != dialect.MySQL }

// rollback ends the transaction of the migration under way, if any.
func (drv *connDriver) rollback() error {
	if drv.tx == nil {
		return nil
	}
	tx := drv.tx
	drv.tx = nil
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}

// SetVersion records version, and whether its migration is under way or
// failed, replacing the previous record. database.NilVersion, clean,
// records that no migration is applied.
//
// golang-migrate calls SetVersion(v, true) before it runs a migration and
// SetVersion(v, false) after: on PostgreSQL and SQLite the first begins the
// migration's transaction, and the second commits it, so others never see
// the dirty record. On MySQL the first remembers the record it replaces,
// for Run.
func (drv *connDriver) SetVersion(version int, dirty bool) error {
	ctx := context.WithoutCancel(drv.ctx)
	var err error
	if drv.holder != "" && drv.locked.Load() {
		// A run that lost the cluster's lock must not go on: another
		// may be migrating.
		if err := drv.renewGaleraLock(ctx, drv.conn); err != nil {
			return fmt.Errorf("record version %d: %w", version, err)
		}
	}
	switch {
	case dirty && drv.transactional():
		drv.target.Store(int64(version))
		if err = drv.rollback(); err == nil {
			err = drv.d.RetryBusy(drv.ctx, func() (err error) {
				drv.tx, err = drv.conn.BeginTx(ctx, nil)
				return err
			})
		}
		if err == nil {
			if err = writeVersion(ctx, drv.tx, drv.d, drv.table, version, true); err != nil {
				err = errors.Join(err, drv.rollback())
			}
		}
	case !dirty && drv.tx != nil:
		tx := drv.tx
		drv.tx = nil
		if err = writeVersion(ctx, tx, drv.d, drv.table, version, false); err != nil {
			err = errors.Join(err, tx.Rollback())
		} else {
			err = tx.Commit()
		}
	default:
		if dirty {
			drv.target.Store(int64(version))
			drv.prev, drv.prevDirty, err = drv.Version()
		}
		if err == nil {
			err = drv.record(ctx, version, dirty)
		}
	}
	if err != nil {
		return fmt.Errorf("record version %d: %w", version, err)
	}
	return nil
}

// record replaces the version record in a transaction of its own.
func (drv *connDriver) record(ctx context.Context, version int, dirty bool) error {
	return drv.inTx(ctx, func(tx *sql.Tx) error {
		return writeVersion(ctx, tx, drv.d, drv.table, version, dirty)
	})
}

// writeVersion replaces the version record of the version table table
// over tx.
func writeVersion(ctx context.Context, tx *sql.Tx, d *dialect.Dialect, table string, version int, dirty bool) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
		return err
	}
	// A dirty NilVersion is kept too: a failed down migration of the
	// first version.
	if version < 0 && !dirty {
		return nil
	}
	_, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO `+table+` (version, dirty) VALUES (?, ?)`), version, dirty)
	return err
}

// inTx runs fn in a transaction on the driver's connection, again while
// SQLite reports the database busy (see dialect.Dialect.RetryBusy).
func (drv *connDriver) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return drv.d.RetryBusy(drv.ctx, func() error {
		tx, err := drv.conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return errors.Join(err, tx.Rollback())
		}
		return tx.Commit()
	})
}

// Version returns the recorded version, or database.NilVersion if none.
func (drv *connDriver) Version() (version int, dirty bool, err error) {
	err = drv.d.RetryBusy(drv.ctx, func() error {
		return drv.conn.QueryRowContext(drv.ctx, `SELECT version, dirty FROM `+drv.table+` LIMIT 1`).Scan(&version, &dirty)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows), dialect.IsMissingTable(err):
		return database.NilVersion, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("read the version: %w", err)
	}
	return version, dirty, nil
}

// Drop is not supported: [Down] reverts klepto's schema.
func (drv *connDriver) Drop() error {
	return errors.New("migrations: klepto never drops the schema this way; use Down")
}

// lockError reports that the migration lock could not be had in time; it
// matches [ErrLocked] and the database's error.
type lockError struct{ err error }

func (e *lockError) Error() string   { return "take the migration lock: " + e.err.Error() }
func (e *lockError) Unwrap() []error { return []error{e.err, ErrLocked} }

// check compares, under the lock, the version record with klepto's
// tables before [Up] migrates. It returns a [*SchemaError] if they
// disagree, and a [*DirtyError] if the record is dirty, except on MySQL
// when the tables match one version: each MySQL migration is one
// statement, applied whole or not at all, so check records that version,
// clean, and Up goes on from there.
func (drv *connDriver) check() (err error) {
	if err := drv.Lock(); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, drv.Unlock()) }()
	v, dirty, err := drv.Version()
	if err != nil {
		return err
	}
	found, err := detect(drv.ctx, drv.conn, drv.d)
	if err != nil {
		return err
	}
	recorded := uint(max(v, 0))
	switch {
	case dirty && drv.d == dialect.MySQL && !found.Mixed:
		version := int(found.Version)
		if found.Version == 0 {
			version = database.NilVersion
		}
		if err := drv.record(context.WithoutCancel(drv.ctx), version, false); err != nil {
			return fmt.Errorf("record version %d, which the tables match: %w", found.Version, err)
		}
	case dirty:
		return &DirtyError{Version: recorded, Found: found}
	case found.Mixed || found.Version != recorded:
		return &SchemaError{Recorded: recorded, Found: found}
	}
	return nil
}

package dialect

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// ddlLockPrefix namespaces klepto's DDL locks among other advisory locks.
const ddlLockPrefix = "klepto:ddl:"

// mysqlLockName is the GET_LOCK name for a DDL lock on ? in the current
// database. MySQL limits lock names to 64 characters, so the name is hashed:
// "klepto:ddl:" and 40 hex digits.
const mysqlLockName = `CONCAT('` + ddlLockPrefix + `', SHA1(CONCAT(COALESCE(DATABASE(), ''), '.', ?)))`

// mysqlLockWait is how many seconds one GET_LOCK call waits before the
// context is checked again.
const mysqlLockWait = 5

// WithDDLLock runs fn while holding the DDL lock called name (usually the
// table name), so that processes creating or altering the same table take
// turns. fn must run its statements on q, never on db: q is
//
//   - on PostgreSQL, a transaction that first took
//     pg_advisory_xact_lock(hashtextextended(current_schema() || ':klepto:ddl:' || name, 0)).
//     Concurrent CREATE TABLE IF NOT EXISTS of one table otherwise fails
//     (23505 on pg_type). PostgreSQL DDL is transactional: fn's statements
//     commit together when fn returns nil;
//   - on MySQL, a connection of its own that holds GET_LOCK on a name
//     derived from DATABASE() and name, released after fn. MySQL commits
//     DDL implicitly, so fn's statements are not atomic;
//   - on SQLite, a transaction. SQLite needs no lock: writers are serialized
//     by the database file. Opened with _txlock=immediate (see [SQLiteDSN]),
//     the transaction holds the write lock from its start; without it, a
//     transaction that reads before it writes may fail with SQLITE_BUSY
//     (see [IsBusy]).
//
// WithDDLLock waits for the lock until ctx is done; on SQLite, when ctx
// has no earlier deadline, for 5 s. If fn fails, WithDDLLock
// rolls back (SQLite, PostgreSQL) and returns fn's error, joined with any
// error of its own in rolling back or releasing the lock; its own errors
// wrap the driver's.
func (d *Dialect) WithDDLLock(ctx context.Context, db *sql.DB, name string, fn func(ctx context.Context, q Querier) error) error {
	if d.kind == mysql {
		return withMySQLLock(ctx, db, name, fn)
	}
	tx, err := d.begin(ctx, db)
	if err != nil {
		return fmt.Errorf("dialect: DDL lock %q: begin: %w", name, err)
	}
	if d.kind == postgres {
		_, err := tx.ExecContext(ctx,
			`SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':' || $1, 0))`,
			ddlLockPrefix+name)
		if err != nil {
			return rollback(tx, name, fmt.Errorf("dialect: DDL lock %q: %w", name, err))
		}
	}
	if err := fn(ctx, tx); err != nil {
		return rollback(tx, name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("dialect: DDL lock %q: commit: %w", name, err)
	}
	return nil
}

// begin begins a transaction. On SQLite, where BEGIN IMMEDIATE fails with
// SQLITE_BUSY after busy_timeout while another connection holds the write
// lock, it tries again as RetryBusy does.
func (d *Dialect) begin(ctx context.Context, db *sql.DB) (tx *sql.Tx, err error) {
	err = d.RetryBusy(ctx, func() (err error) {
		tx, err = db.BeginTx(ctx, nil)
		return err
	})
	return tx, err
}

// rollback rolls tx back after err, and returns err joined with any error
// of the rollback. A transaction that its canceled context already rolled
// back is not an error.
func rollback(tx *sql.Tx, name string, err error) error {
	if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
		return errors.Join(err, fmt.Errorf("dialect: DDL lock %q: rollback: %w", name, rerr))
	}
	return err
}

func withMySQLLock(ctx context.Context, db *sql.DB, name string, fn func(ctx context.Context, q Querier) error) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("dialect: DDL lock %q: %w", name, err)
	}
	defer func() {
		// Release on a context that is not canceled; if that fails, the
		// session may still hold the lock, so the connection must not go back
		// to the pool.
		var held int64
		rerr := conn.QueryRowContext(context.WithoutCancel(ctx), `SELECT COALESCE(RELEASE_LOCK(`+mysqlLockName+`), 0)`, name).Scan(&held)
		if rerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			err = errors.Join(err, fmt.Errorf("dialect: DDL lock %q: release: %w", name, rerr))
		}
		_ = conn.Close()
	}()
	for {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(`+mysqlLockName+`, ?)`, name, mysqlLockWait).Scan(&got); err != nil {
			return fmt.Errorf("dialect: DDL lock %q: %w", name, err)
		}
		if !got.Valid {
			return fmt.Errorf("dialect: DDL lock %q: GET_LOCK failed", name)
		}
		if got.Int64 == 1 {
			break
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("dialect: DDL lock %q: %w", name, err)
		}
	}
	return fn(ctx, conn)
}

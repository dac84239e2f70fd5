package sqltest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"path/filepath"
	"testing"
)

// Op names a driver operation that a [Faulty] pool lets an [Injector] fail.
type Op uint8

// The operations an [Injector] sees.
const (
	OpConnect  Op = iota + 1 // open a new connection
	OpPrepare                // prepare a statement
	OpExec                   // execute a statement, prepared or not
	OpQuery                  // run a query, prepared or not
	OpBegin                  // begin a transaction
	OpCommit                 // commit a transaction
	OpRollback               // roll back a transaction
)

var opNames = [...]string{
	OpConnect: "connect", OpPrepare: "prepare", OpExec: "exec", OpQuery: "query",
	OpBegin: "begin", OpCommit: "commit", OpRollback: "rollback",
}

// String returns the operation's name, such as "exec".
func (op Op) String() string {
	if int(op) < len(opNames) && opNames[op] != "" {
		return opNames[op]
	}
	return "Op(?)"
}

// Injector decides the fate of each driver operation of a [Faulty] pool. It
// returns nil to let the operation run, or the error the operation returns
// instead, without running. query is the statement's SQL for OpPrepare,
// OpExec and OpQuery, and empty otherwise. Return driver.ErrBadConn to make
// database/sql discard the connection and retry on another, as after a
// network failure. An Injector is called from every goroutine using the
// pool, so it must be safe for concurrent use.
type Injector func(op Op, query string) error

// Faulty returns a pool on a new SQLite database file in tb.TempDir(), opened
// with the driver [SQLiteDriver] chooses and [SQLiteDSN], whose every driver operation first asks inject.
// Use it to test error, retry and driver.ErrBadConn paths. The pool is closed
// when the test ends.
func Faulty(tb testing.TB, inject Injector) *sql.DB {
	tb.Helper()
	dsn := SQLiteDSN(tb, filepath.Join(tb.TempDir(), "faulty.db"))
	probe, err := sql.Open(SQLiteDriver(tb), "")
	if err != nil {
		tb.Fatalf("sqltest: sqlite driver: %v", err)
	}
	drv := probe.Driver()
	_ = probe.Close()
	db := sql.OpenDB(&faultyConnector{dsn: dsn, drv: drv, inject: inject})
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

type faultyConnector struct {
	dsn    string
	drv    driver.Driver
	inject Injector
}

func (c *faultyConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := c.inject(OpConnect, ""); err != nil {
		return nil, err
	}
	conn, err := c.Driver().Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &faultyConn{conn: conn, inject: c.inject}, nil
}

func (c *faultyConnector) Driver() driver.Driver { return c.drv }

// faultyConn wraps a driver connection.
type faultyConn struct {
	conn   driver.Conn
	inject Injector
}

var (
	_ driver.ConnPrepareContext = (*faultyConn)(nil)
	_ driver.ExecerContext      = (*faultyConn)(nil)
	_ driver.QueryerContext     = (*faultyConn)(nil)
	_ driver.ConnBeginTx        = (*faultyConn)(nil)
	_ driver.Pinger             = (*faultyConn)(nil)
)

func (c *faultyConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *faultyConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.inject(OpPrepare, query); err != nil {
		return nil, err
	}
	var s driver.Stmt
	var err error
	if p, ok := c.conn.(driver.ConnPrepareContext); ok {
		s, err = p.PrepareContext(ctx, query)
	} else {
		s, err = c.conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &faultyStmt{stmt: s, query: query, inject: c.inject}, nil
}

func (c *faultyConn) Close() error { return c.conn.Close() }

func (c *faultyConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *faultyConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.inject(OpBegin, ""); err != nil {
		return nil, err
	}
	b, ok := c.conn.(driver.ConnBeginTx)
	if !ok {
		return nil, errors.New("sqltest: the driver cannot begin a transaction with options")
	}
	tx, err := b.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &faultyTx{tx: tx, inject: c.inject}, nil
}

func (c *faultyConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.inject(OpExec, query); err != nil {
		return nil, err
	}
	if e, ok := c.conn.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *faultyConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.inject(OpQuery, query); err != nil {
		return nil, err
	}
	if q, ok := c.conn.(driver.QueryerContext); ok {
		return q.QueryContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *faultyConn) Ping(ctx context.Context) error {
	if p, ok := c.conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// faultyStmt wraps a prepared statement.
type faultyStmt struct {
	stmt   driver.Stmt
	query  string
	inject Injector
}

var (
	_ driver.StmtExecContext  = (*faultyStmt)(nil)
	_ driver.StmtQueryContext = (*faultyStmt)(nil)
)

func (s *faultyStmt) Close() error  { return s.stmt.Close() }
func (s *faultyStmt) NumInput() int { return s.stmt.NumInput() }

func (s *faultyStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *faultyStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *faultyStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if err := s.inject(OpExec, s.query); err != nil {
		return nil, err
	}
	if e, ok := s.stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return nil, errors.New("sqltest: statement cannot execute with a context")
}

func (s *faultyStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if err := s.inject(OpQuery, s.query); err != nil {
		return nil, err
	}
	if q, ok := s.stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return nil, errors.New("sqltest: statement cannot query with a context")
}

func named(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

// faultyTx wraps a transaction.
type faultyTx struct {
	tx     driver.Tx
	inject Injector
}

func (t *faultyTx) Commit() error {
	if err := t.inject(OpCommit, ""); err != nil {
		// The transaction must still end, or the connection stays in it.
		return t.rollbackAfter(err)
	}
	return t.tx.Commit()
}

func (t *faultyTx) Rollback() error {
	if err := t.inject(OpRollback, ""); err != nil {
		return t.rollbackAfter(err)
	}
	return t.tx.Rollback()
}

// rollbackAfter rolls back after an injected error and returns that error.
func (t *faultyTx) rollbackAfter(err error) error {
	if rerr := t.tx.Rollback(); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

package sqltest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
)

// Counter counts the driver operations of a pool from [Counted]: each is
// one round trip to a server, or more (lib/pq prepares an unnamed
// statement for a query with arguments). A Counter is safe for concurrent
// use.
type Counter struct {
	mu      sync.Mutex
	n       int
	queries []string // the SQL of each OpPrepare, OpExec and OpQuery, in order, or the operation's name
}

// add counts one operation, of SQL query, or named op if query is "".
func (c *Counter) add(op Op, query string) {
	if query == "" {
		query = op.String()
	}
	c.mu.Lock()
	c.n++
	c.queries = append(c.queries, query)
	c.mu.Unlock()
}

// N returns how many operations were counted: connections opened,
// statements prepared, executed and queried, transactions begun, committed
// and rolled back.
func (c *Counter) N() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Reset sets the count to zero and forgets the statements.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n, c.queries = 0, nil
}

// Statements returns the SQL of each operation counted since the last
// Reset, in order: the statement, or the operation's name ("begin",
// "commit", "rollback", "connect").
func (c *Counter) Statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.queries...)
}

// Counted returns a fresh, empty database of dialect d, as [Fresh] does,
// through a pool that counts its driver operations in the returned
// Counter. The pool's driver is the one Fresh chose, so dialect.Detect
// finds d. The pool is closed when the test ends.
func Counted(tb testing.TB, d *dialect.Dialect) (*sql.DB, *Counter) {
	tb.Helper()
	f := Fresh(tb, d)
	drv := f.DB.Driver()
	c := &Counter{}
	var conn driver.Connector = dsnConnector{dsn: f.DSN, drv: drv}
	if dc, ok := drv.(driver.DriverContext); ok {
		var err error
		if conn, err = dc.OpenConnector(f.DSN); err != nil {
			tb.Fatalf("sqltest: counted: %v", err)
		}
	}
	db := sql.OpenDB(&countingConnector{conn: conn, count: c})
	tb.Cleanup(func() { _ = db.Close() })
	return db, c
}

// dsnConnector is the driver.Connector of a driver without one.
type dsnConnector struct {
	dsn string
	drv driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

type countingConnector struct {
	conn  driver.Connector
	count *Counter
}

func (c *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c.count.add(OpConnect, "")
	conn, err := c.conn.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{conn: conn, count: c.count}, nil
}

func (c *countingConnector) Driver() driver.Driver { return c.conn.Driver() }

// countingConn wraps a driver connection, passing on the optional
// interfaces of database/sql that the drivers of the tests implement.
type countingConn struct {
	conn  driver.Conn
	count *Counter
}

var (
	_ driver.ConnPrepareContext = (*countingConn)(nil)
	_ driver.ExecerContext      = (*countingConn)(nil)
	_ driver.QueryerContext     = (*countingConn)(nil)
	_ driver.ConnBeginTx        = (*countingConn)(nil)
	_ driver.Pinger             = (*countingConn)(nil)
	_ driver.SessionResetter    = (*countingConn)(nil)
	_ driver.Validator          = (*countingConn)(nil)
	_ driver.NamedValueChecker  = (*countingConn)(nil)
)

func (c *countingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.count.add(OpPrepare, query)
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
	return &countingStmt{stmt: s, conn: c, query: query, count: c.count}, nil
}

func (c *countingConn) Close() error { return c.conn.Close() }

func (c *countingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	b, ok := c.conn.(driver.ConnBeginTx)
	if !ok {
		return nil, errors.New("sqltest: the driver cannot begin a transaction with options")
	}
	c.count.add(OpBegin, "")
	tx, err := b.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &countingTx{tx: tx, count: c.count}, nil
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		c.count.add(OpExec, query)
	}
	return res, err
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		c.count.add(OpQuery, query)
	}
	return rows, err
}

func (c *countingConn) Ping(ctx context.Context) error {
	if p, ok := c.conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *countingConn) IsValid() bool {
	if v, ok := c.conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// countingStmt wraps a prepared statement.
type countingStmt struct {
	stmt  driver.Stmt
	conn  *countingConn
	query string
	count *Counter
}

var (
	_ driver.StmtExecContext   = (*countingStmt)(nil)
	_ driver.StmtQueryContext  = (*countingStmt)(nil)
	_ driver.NamedValueChecker = (*countingStmt)(nil)
)

func (s *countingStmt) Close() error  { return s.stmt.Close() }
func (s *countingStmt) NumInput() int { return s.stmt.NumInput() }

func (s *countingStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *countingStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.count.add(OpExec, s.query)
	if e, ok := s.stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return nil, errors.New("sqltest: statement cannot execute with a context")
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.count.add(OpQuery, s.query)
	if q, ok := s.stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return nil, errors.New("sqltest: statement cannot query with a context")
}

func (s *countingStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.stmt.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return s.conn.CheckNamedValue(nv)
}

// countingTx wraps a transaction.
type countingTx struct {
	tx    driver.Tx
	count *Counter
}

func (t *countingTx) Commit() error {
	t.count.add(OpCommit, "")
	return t.tx.Commit()
}

func (t *countingTx) Rollback() error {
	t.count.add(OpRollback, "")
	return t.tx.Rollback()
}

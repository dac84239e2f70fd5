// Package pqconn opens lib/pq connections whose statements end by their
// context's deadline, even while the network to the server stalls.
//
//	c, err := pqconn.NewConnector("postgres://app@db/app?connect_timeout=2", nil)
//	db := sql.OpenDB(c)
//	db.SetMaxOpenConns(20)
//
// When the context of a statement ends, lib/pq sends a cancel request to the
// server on a new connection, then waits for the statement's answer and for
// the cancel request to be sent. While the network stalls, both waits last
// until it comes back, however early the deadline, and the pool opens more
// connections for the calls that keep coming. The connections of a
// Connector end the first wait at once, so the statement returns with its
// context's error and lib/pq drops the connection (as go-sql-driver/mysql
// does with every canceled statement), and bound the second to
// Options.CancelWait. The section "Timeouts and pools" of package
// sqlarchive gives the pool settings that go with it.
//
// The package imports lib/pq; the rest of the library imports no driver.
package pqconn

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// Defaults of Options.
const (
	DefaultKeepAlive  = 15 * time.Second
	DefaultCancelWait = 100 * time.Millisecond
)

// Options configure a Connector. The zero value (or nil) means the defaults.
type Options struct {
	// KeepAlive is the period of TCP keepalive probes on each connection,
	// which find a server that went away without closing its connections.
	// Zero means DefaultKeepAlive; negative turns probes off.
	KeepAlive time.Duration

	// CancelWait bounds the cancel request that lib/pq sends when a
	// statement's context ends. Zero means DefaultCancelWait.
	CancelWait time.Duration
}

// Connector is a driver.Connector of lib/pq connections whose statements
// end by their context's deadline. It is safe for concurrent use.
type Connector struct {
	cfg        pq.Config
	keepAlive  time.Duration
	cancelWait time.Duration
}

// NewConnector returns a Connector for dsn, a lib/pq connection string
// (URL or key=value). Set connect_timeout in dsn to bound each new
// connection, which lib/pq does not bound by the context.
func NewConnector(dsn string, opts *Options) (*Connector, error) {
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pqconn: %w", err)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.CancelWait < 0 {
		return nil, fmt.Errorf("pqconn: negative CancelWait %v", o.CancelWait)
	}
	if o.CancelWait == 0 {
		o.CancelWait = DefaultCancelWait
	}
	return &Connector{cfg: cfg, keepAlive: o.KeepAlive, cancelWait: o.CancelWait}, nil
}

// Connect opens a connection, by ctx's deadline.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	pc, err := pq.NewConnectorConfig(c.cfg)
	if err != nil {
		return nil, err
	}
	d := &dialer{dialer: net.Dialer{KeepAlive: c.keepAlive}, cancelWait: c.cancelWait, ctx: ctx}
	pc.Dialer(d)
	conn, err := pc.Connect(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.open = true
	if d.stop != nil && !d.stop() && err == nil {
		// ctx ended as the connection opened, and ended its wait.
		_ = conn.Close()
		return nil, ctx.Err()
	}
	if err != nil {
		if ctx.Err() != nil && d.conn != nil && d.conn.ended.Load() {
			return nil, fmt.Errorf("pqconn: connect: %w (%w)", ctx.Err(), err)
		}
		return nil, err
	}
	return conn, nil
}

// Driver returns lib/pq's driver.
func (c *Connector) Driver() driver.Driver { return &pq.Driver{} }

// dialer dials the connections of one lib/pq connection: while it is
// being opened, the connection itself (lib/pq dials again for another
// host, or without TLS after sslmode=prefer fails), and once it is open,
// one for each cancel request. Dialing a cancel request ends the
// connection's wait for an answer (lib/pq then drops the connection), and
// the request lasts at most cancelWait.
type dialer struct {
	dialer     net.Dialer
	cancelWait time.Duration

	ctx context.Context // of Connect

	mu   sync.Mutex  // guards following fields
	conn *conn       // the connection last dialed to open
	stop func() bool // stops ending conn when Connect's context ends
	open bool        // Connect has returned
}

func (d *dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.open {
		c, err := d.dialer.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		if d.stop != nil {
			d.stop()
		}
		d.conn = &conn{Conn: c}
		d.stop = context.AfterFunc(d.ctx, d.conn.end)
		return d.conn, nil
	}
	// A cancel request: the statement's context has ended.
	d.conn.end()
	end := time.Now().Add(d.cancelWait)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	c, err := d.dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &deadlineConn{Conn: c, end: end}, nil
}

func (d *dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d *dialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

// conn is the network connection of a lib/pq connection.
type conn struct {
	net.Conn
	ended atomic.Bool // by its statement's context
}

// end ends the connection's wait for an answer, after the context of its
// statement ended.
func (c *conn) end() {
	c.ended.Store(true)
	_ = c.Conn.SetDeadline(time.Now())
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	return n, c.explain(err)
}

func (c *conn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	return n, c.explain(err)
}

func (c *conn) explain(err error) error {
	if err != nil && c.ended.Load() {
		return &ContextEndedError{Err: err}
	}
	return err
}

// ContextEndedError is the error of a statement whose context ended before
// the server answered: the connection stopped waiting, and lib/pq drops
// it. The statement's context says whether it was canceled or its
// deadline passed.
type ContextEndedError struct {
	Err error // of the connection, such as an i/o timeout
}

func (e *ContextEndedError) Error() string {
	return "pqconn: the statement's context ended before the server answered: " + e.Err.Error()
}

// Unwrap returns Err.
func (e *ContextEndedError) Unwrap() error { return e.Err }

// deadlineConn is a connection whose deadlines are never later than end.
type deadlineConn struct {
	net.Conn
	end time.Time
}

func (c *deadlineConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.cap(t)) }
func (c *deadlineConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.cap(t)) }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.cap(t)) }

func (c *deadlineConn) cap(t time.Time) time.Time {
	if t.IsZero() || t.After(c.end) {
		return c.end
	}
	return t
}

package sqlarchive_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"log"
	"net"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/klepto-sql/klepto/sqlarchive"
)

// The pool of a service on PostgreSQL through lib/pq, bounded in
// connections and in time (see "Timeouts and pools" in the package
// documentation).
func ExampleOpen_timeoutsAndPools() {
	ctx := context.Background()
	cfg, err := pq.NewConfig("postgres://app@db.internal/app?connect_timeout=1")
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(&pqConnector{cfg: cfg, dialer: net.Dialer{KeepAlive: 15 * time.Second}})
	defer db.Close()
	db.SetMaxOpenConns(20) // per process: the server's max_connections, shared by all
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(time.Minute)

	a, err := sqlarchive.Open(ctx, db, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
}

// pqConnector opens each lib/pq connection with a dialer of its own. When
// the context of a statement ends, lib/pq sends a cancel request on a new
// connection, through that dialer, and waits both for the server's answer
// and for the cancel request, as long as the network is down; the dialer
// ends the first wait and bounds the second.
type pqConnector struct {
	cfg    pq.Config
	dialer net.Dialer
}

func (c *pqConnector) Connect(ctx context.Context) (driver.Conn, error) {
	pc, err := pq.NewConnectorConfig(c.cfg)
	if err != nil {
		return nil, err
	}
	pc.Dialer(&cancelDialer{dialer: c.dialer})
	return pc.Connect(ctx)
}

func (c *pqConnector) Driver() driver.Driver { return &pq.Driver{} }

// cancelWait bounds a cancel request.
const cancelWait = 100 * time.Millisecond

// cancelDialer dials the connections of one lib/pq connection: first the
// connection itself, then one for each cancel request, which ends the
// connection's wait for an answer (lib/pq then drops the connection), and
// lasts at most cancelWait.
type cancelDialer struct {
	dialer net.Dialer
	mu     sync.Mutex // guards conn
	conn   net.Conn
}

func (d *cancelDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		c, err := d.dialer.DialContext(ctx, network, address)
		d.conn = c
		return c, err
	}
	_ = d.conn.SetDeadline(time.Now())
	end := time.Now().Add(cancelWait)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	c, err := d.dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &deadlineConn{Conn: c, end: end}, nil
}

func (d *cancelDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d *cancelDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

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

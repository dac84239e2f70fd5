package pqconn_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive/pqconn"
)

// open returns a pool of one connection of a Connector on the test
// PostgreSQL database, through a proxy that can stall the network, with
// the parameters set in the DSN.
func open(t *testing.T, params map[string]string) (*sql.DB, *sqltest.Proxy) {
	t.Helper()
	db := sqltest.Fresh(t, dialect.Postgres)
	u, err := url.Parse(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	proxy := sqltest.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	c, err := pqconn.NewConnector(u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := sql.OpenDB(c)
	t.Cleanup(func() { _ = pool.Close() })
	pool.SetMaxOpenConns(1)
	return pool, proxy
}

// During a stall of the network, a statement returns by its deadline with
// its context's error, and the pool works again once the network is back.
func TestStatementEndsByDeadlineDuringStall(t *testing.T) {
	pool, proxy := open(t, map[string]string{"connect_timeout": "1"})
	ctx := t.Context()
	if err := pool.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.Stall()
	for _, query := range []string{"SELECT 1", "SELECT pg_sleep(0)"} {
		qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		start := time.Now()
		var n any
		err := pool.QueryRowContext(qctx, query).Scan(&n)
		took := time.Since(start)
		cancel()
		var ended *pqconn.ContextEndedError
		if !errors.As(err, &ended) {
			t.Errorf("%s during a stall = %v, want a *pqconn.ContextEndedError", query, err)
		}
		// Without pqconn, lib/pq waits for the network to come back.
		if took > 1300*time.Millisecond {
			t.Errorf("%s during a stall took %v, want about its 300 ms deadline", query, took)
		}
	}
	proxy.Resume()
	deadline := time.Now().Add(3 * time.Second)
	for {
		var n int
		err := pool.QueryRowContext(ctx, "SELECT 1").Scan(&n)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("3 s after the stall: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A connection that lib/pq dials twice while opening it (here because
// target_session_attrs=prefer-standby finds no standby and starts again)
// is a connection like any other: no dial of it is taken for a cancel
// request, whose deadline would end it.
func TestRedialWhileOpening(t *testing.T) {
	pool, proxy := open(t, map[string]string{"connect_timeout": "2", "target_session_attrs": "prefer-standby"})
	ctx := t.Context()
	if err := pool.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	if n := proxy.Accepts(); n < 2 {
		t.Fatalf("lib/pq dialed %d times, want 2 or more for this test to show anything", n)
	}
	// A statement that lasts longer than CancelWait.
	var n int
	if err := pool.QueryRowContext(ctx, "SELECT 1 FROM pg_sleep(0.3)").Scan(&n); err != nil {
		t.Fatalf("query on a connection dialed twice: %v", err)
	}
}

func TestNewConnectorErrors(t *testing.T) {
	if _, err := pqconn.NewConnector("postgres://a@b/c?sslmode=bogus", nil); err == nil {
		t.Error("NewConnector with sslmode=bogus: no error")
	}
	if _, err := pqconn.NewConnector("postgres://a@b/c", &pqconn.Options{CancelWait: -time.Second}); err == nil {
		t.Error("NewConnector with a negative CancelWait: no error")
	}
}

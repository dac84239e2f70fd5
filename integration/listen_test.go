package integration

import (
	"errors"
	"io"
	"net"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// On PostgreSQL with a Listener, a change reaches the memory of another
// process as it commits, well under the poll interval (1 s here, so that
// polling cannot be what does it). When the listening connection is killed
// (pg_terminate_backend), invalidation goes on and LISTEN comes back; while
// the listener cannot connect at all, the follower polls.
func TestListenInvalidation(t *testing.T) {
	const (
		pollInterval = time.Second
		notified     = pollInterval / 4 // a bound that polling cannot meet
		polled       = pollInterval + time.Second
	)
	db := sqltest.Fresh(t, dialect.Postgres)
	u, err := url.Parse(db.DSN)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		t.Skipf("%s is not a URL: the test needs to point the listener at a proxy", sqltest.PostgresEnv)
	}
	// The listener connects through a proxy, which the test can cut, and
	// under an application_name of its own, by which the test finds its
	// backend.
	p := newProxy(t, u.Host)
	app := "klepto_listen_" + db.Name
	lu := *u
	lu.Host = p.addr()
	q := lu.Query()
	q.Set("application_name", app)
	lu.RawQuery = q.Encode()

	cfg := serveConfigOf(db, "sq")
	cfg.PollInterval, cfg.ListenDSN = pollInterval, lu.String()
	servers := startServers(t, cfg, serveConfigOf(db, "sq"))
	b, a := servers[0], libChanger{servers[1]}
	listening := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !b.info().Follow.Listening {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the follower is not listening after 10 s: %+v", what, b.info().Follow)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	const n = 5
	value := 0
	// invalidate overwrites n from a, and returns how long b took to drop
	// it from memory.
	invalidate := func(what string, bound time.Duration) time.Duration {
		t.Helper()
		if r := b.call(n); !r.Memory {
			b.call(n)
		}
		gone := b.send(request{Op: "await", N: n, Timeout: 30 * time.Second})
		gone.waitArmed()
		value--
		committed := a.put(n, value)
		g := gone.wait()
		if g.Err != "" {
			t.Errorf("%s: %s", what, g.Err)
			return 0
		}
		latency := unixTime(g.At).Sub(committed)
		if latency > bound {
			t.Errorf("%s: the key left memory %v after the commit, want within %v", what, latency, bound)
		}
		if r := b.call(n); r.Value != value {
			t.Errorf("%s: B's call = %+v, want %d", what, r, value)
		}
		return latency
	}
	rounds := func(what string, count int, bound time.Duration) {
		t.Helper()
		var lat []time.Duration
		for range count {
			lat = append(lat, invalidate(what, bound))
		}
		for i := range lat {
			lat[i] = lat[i].Round(10 * time.Microsecond)
		}
		if count < 5 {
			t.Logf("%s: %d invalidations, latencies %v", what, count, lat)
			return
		}
		slices.Sort(lat)
		t.Logf("%s: %d invalidations, latency p50 %v, max %v", what, count, lat[len(lat)/2], lat[len(lat)-1])
	}

	listening("start")
	rounds("listening", 20, notified)

	// Kill the listening connection from the test's own pool.
	before := listenerPID(t, db, app)
	var ok bool
	if err := db.DB.QueryRowContext(t.Context(), `SELECT pg_terminate_backend($1)`, before).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", before, ok, err)
	}
	t.Logf("terminated the listener's backend %d", before)
	// The listener connects again within milliseconds, so this change
	// may reach memory by a notification as well as by a poll; the cut
	// below is what keeps the listener away.
	t.Logf("just after: %v", invalidate("after pg_terminate_backend", polled).Round(10*time.Microsecond))
	listening("after pg_terminate_backend")
	if after := listenerPID(t, db, app); after == before {
		t.Fatalf("the listener's backend is still %d", before)
	}
	rounds("listening again", 5, notified)

	// With the listener cut off, and unable to connect again, changes
	// reach memory by polling.
	p.setUp(false)
	time.Sleep(100 * time.Millisecond) // the listener notices
	rounds("listener cut off", 2, polled)
	p.setUp(true)
	listening("after the cut")
	rounds("listening after the cut", 5, notified)
	if f := b.info().Follow; f.Notifications == 0 {
		t.Errorf("FollowInfo = %+v: no notifications", f)
	}
}

// listenerPID returns the process id of the backend of the listener called
// app, once it has run LISTEN.
func listenerPID(t *testing.T, db sqltest.Database, app string) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pids []int64
		rows, err := db.DB.QueryContext(t.Context(),
			`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'`, app)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var pid int64
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			t.Fatal(err)
		}
		switch {
		case len(pids) == 1:
			return pids[0]
		case len(pids) > 1:
			t.Fatalf("%d listening backends called %s: %v", len(pids), app, pids)
		case time.Now().After(deadline):
			t.Fatalf("no listening backend called %s in pg_stat_activity", app)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// proxy forwards TCP connections to a server, and can be cut: then it
// closes the connections it forwards and refuses new ones, as a network
// that fails would.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex // guards following fields
	up    bool
	conns map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, up: true, conns: make(map[net.Conn]struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.serve()
	}()
	t.Cleanup(func() {
		ln.Close()
		p.setUp(false)
		<-done
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

// forward forwards c to the target, unless the proxy is cut.
func (p *proxy) forward(c net.Conn) {
	p.mu.Lock()
	up := p.up
	p.mu.Unlock()
	if !up {
		c.Close()
		return
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, s) {
		return
	}
	go func() { _, _ = io.Copy(s, c); s.Close() }()
	_, _ = io.Copy(c, s)
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

// track records the connections, unless the proxy was cut meanwhile.
func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.up {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// setUp cuts the proxy, or restores it.
func (p *proxy) setUp(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

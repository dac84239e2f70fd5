package sqltest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP proxy on 127.0.0.1 that forwards each connection to a
// database server and can stall the network between them: after
// [Proxy.Stall], it still accepts connections, but forwards no byte in
// either direction and closes nothing, until [Proxy.Resume], as a network
// that stops carrying packets for a while. A connection accepted during a
// stall reaches the server at Resume, unless its client closed it before;
// a connection its client closed during a stall is closed at the server at
// Resume. A Proxy is safe for concurrent use.
type Proxy struct {
	ln      net.Listener
	target  string
	accepts atomic.Int64
	dials   atomic.Int64

	mu      sync.Mutex    // guards following fields
	stalled chan struct{} // closed at Resume; nil while not stalled
	conns   map[net.Conn]struct{}
	closed  bool

	wg sync.WaitGroup
}

// NewProxy returns a Proxy that forwards connections to target, a
// host:port, and closes it, with every connection, when the test ends.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("sqltest: proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.serve()
	tb.Cleanup(p.close)
	return p
}

// Addr returns the host:port the Proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Accepts returns how many connections the Proxy accepted.
func (p *Proxy) Accepts() int64 { return p.accepts.Load() }

// Dials returns how many connections the Proxy opened to the server.
func (p *Proxy) Dials() int64 { return p.dials.Load() }

// Stall stops forwarding bytes, until Resume.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled == nil {
		p.stalled = make(chan struct{})
	}
}

// Resume forwards bytes again, those held during the stall first.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled != nil {
		close(p.stalled)
		p.stalled = nil
	}
}

// wait returns when the Proxy is not stalled, and reports whether it
// waited.
func (p *Proxy) wait() bool {
	p.mu.Lock()
	c := p.stalled
	p.mu.Unlock()
	if c != nil {
		<-c
	}
	return c != nil
}

// track adds c to the connections that close closes, or closes c and
// reports false when the Proxy is closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepts.Add(1)
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

// forward carries the bytes of the client connection c to and from a new
// connection to the server.
func (p *Proxy) forward(c net.Conn) {
	defer p.wg.Done()
	defer p.untrack(c)
	// Bytes the client sends before the server is reached wait here.
	fromClient := make(chan []byte, 1024)
	var eof atomic.Bool
	go func() {
		defer close(fromClient)
		for {
			buf := make([]byte, 32<<10)
			n, err := c.Read(buf)
			if n > 0 {
				fromClient <- buf[:n]
			}
			if err != nil {
				eof.Store(true)
				return
			}
		}
	}()
	defer func() {
		go func() {
			for range fromClient { // let the reader end
			}
		}()
	}()
	if p.wait() && eof.Load() {
		return // closed by its client during the stall: never reaches the server
	}
	p.dialAndPipe(c, fromClient)
}

// dialAndPipe connects to the server, sends it what comes from the
// client, and sends the client what the server sends, holding every write
// while the Proxy is stalled.
func (p *Proxy) dialAndPipe(c net.Conn, fromClient <-chan []byte) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.dials.Add(1)
	if !p.track(s) {
		return
	}
	defer p.untrack(s)
	done := make(chan struct{})
	go func() { // server to client
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			n, err := s.Read(buf)
			if n > 0 {
				p.wait()
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				_ = c.Close()
				return
			}
		}
	}()
	for b := range fromClient {
		p.wait()
		if _, err := s.Write(b); err != nil {
			break
		}
	}
	p.wait() // the client closed: close the server's end, after any stall
	_ = s.Close()
	<-done
}

// close stops the Proxy and closes its connections.
func (p *Proxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.closed = true
	if p.stalled != nil {
		close(p.stalled)
		p.stalled = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

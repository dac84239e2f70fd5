package sqltest_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/internal/sqltest"
)

// echoServer accepts connections on 127.0.0.1 and sends back each line it
// reads, until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends line on c and reads it back, failing after timeout.
func roundTrip(c net.Conn, r *bufio.Reader, line string, timeout time.Duration) (string, error) {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := r.ReadString('\n')
	return got, err
}

// A stalled Proxy keeps its connections open but forwards nothing, and
// forwards what it held when it resumes; a connection that its client
// closes during a stall never reaches the server.
func TestProxyStall(t *testing.T) {
	p := sqltest.NewProxy(t, echoServer(t))
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if got, err := roundTrip(c, r, "one", 5*time.Second); err != nil || got != "one\n" {
		t.Fatalf("before the stall: %q, %v", got, err)
	}

	p.Stall()
	_, err = roundTrip(c, r, "two", 200*time.Millisecond)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("during the stall: %v, want a time-out", err)
	}
	// Connections are accepted during the stall; this one is closed by its
	// client before the stall ends.
	gone, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(gone, "lost\n"); err != nil {
		t.Fatal(err)
	}
	_ = gone.Close()
	held, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	time.Sleep(300 * time.Millisecond) // for the proxy to see the close
	if n := p.Accepts(); n != 3 {
		t.Errorf("the proxy accepted %d connections, want 3", n)
	}

	p.Resume()
	if got, err := roundTrip(c, r, "three", 5*time.Second); err != nil || got != "two\n" {
		t.Fatalf("after the stall: %q, %v; want the line held during the stall", got, err)
	}
	if got, err := r.ReadString('\n'); err != nil || got != "three\n" {
		t.Fatalf("after the stall: %q, %v", got, err)
	}
	if got, err := roundTrip(held, bufio.NewReader(held), "four", 5*time.Second); err != nil || got != "four\n" {
		t.Fatalf("a connection accepted during the stall: %q, %v", got, err)
	}
	if n := p.Dials(); n != 2 {
		t.Errorf("the proxy opened %d connections to the server, want 2", n)
	}
}

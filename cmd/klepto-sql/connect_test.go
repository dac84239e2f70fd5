package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// mainEnv, set in the environment of a child process, makes TestMain run
// klepto-sql's main with the child's arguments instead of the tests.
const mainEnv = "KLEPTO_SQL_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		testCommands = func(e *env) []command { return []command{&hangCommand{}} }
		main() // exits
	}
	os.Exit(m.Run())
}

// hangCommand, a command of the child processes of tests, stands for a
// command stuck in a driver that pays no heed to its context: it waits
// an hour, whatever ctx does.
type hangCommand struct{}

func (*hangCommand) doc() *commandDoc    { return &commandDoc{name: "hang"} }
func (*hangCommand) flags(*flag.FlagSet) {}

func (*hangCommand) Run(context.Context, []string) error {
	fmt.Println("hanging")
	time.Sleep(time.Hour)
	return nil
}

// hungServer returns the address of a TCP server that accepts
// connections and never answers, and a channel that receives a value as
// each connection is accepted.
func hungServer(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{}, 16)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), accepted
}

// silentPostgres returns the address of a server that completes
// PostgreSQL's startup (no TLS, no password) and then never answers a
// query, and a channel that receives a value as each connection's first
// query arrives.
func silentPostgres(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{}, 16)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				var size [4]byte
				if _, err := io.ReadFull(c, size[:]); err != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(size[:]))-4); err != nil {
					return
				}
				// AuthenticationOk, BackendKeyData, ReadyForQuery (idle).
				msg := []byte{'R', 0, 0, 0, 8, 0, 0, 0, 0, 'K', 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 2, 'Z', 0, 0, 0, 5, 'I'}
				if _, err := c.Write(msg); err != nil {
					return
				}
				// The first message after the handshake, a query.
				var header [5]byte
				if _, err := io.ReadFull(c, header[:]); err != nil {
					return
				}
				select {
				case ready <- struct{}{}:
				default:
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), ready
}

// hungDSNs returns a DSN of each server kind for the server at addr.
func hungDSNs(addr string) map[string]string {
	return map[string]string{
		"postgres":     "postgres://app:s3cret@" + addr + "/app?sslmode=disable",
		"mysql-url":    "mysql://app:s3cret@" + addr + "/app",
		"mysql-go-sql": "mysql:app:s3cret@tcp(" + addr + ")/app",
	}
}

// A server that accepts connections and never answers fails the command
// after -connect-timeout, or $KLEPTO_CONNECT_TIMEOUT, with an error that
// says so, and never shows the password.
func TestConnectTimeout(t *testing.T) {
	addr, _ := hungServer(t)
	for kind, dsn := range hungDSNs(addr) {
		for _, how := range []string{"flag", "global flag", "env"} {
			t.Run(kind+"/"+how, func(t *testing.T) {
				var args []string
				switch how {
				case "flag":
					args = []string{"ls", "-db", dsn, "-connect-timeout", "300ms"}
				case "global flag":
					args = []string{"-connect-timeout", "300ms", "-db", dsn, "ls"}
				case "env":
					t.Setenv(connectTimeoutEnv, "300ms")
					args = []string{"ls", "-db", dsn}
				}
				start := time.Now()
				r := fails(t, exitFailure, []string{"connect to ", "no answer within 300ms (-connect-timeout, $KLEPTO_CONNECT_TIMEOUT)"}, args...)
				if took := time.Since(start); took > 10*time.Second {
					t.Errorf("took %v to give up, with -connect-timeout 300ms", took)
				}
				if strings.Contains(r.stderr, "s3cret") {
					t.Errorf("stderr shows the password: %s", r.stderr)
				}
			})
		}
	}
}

// -timeout, or $KLEPTO_TIMEOUT, stops a command, connection included.
func TestCommandTimeout(t *testing.T) {
	addr, _ := hungServer(t)
	for kind, dsn := range hungDSNs(addr) {
		t.Run(kind, func(t *testing.T) {
			t.Setenv(timeoutEnv, "300ms")
			fails(t, exitFailure, []string{"stopped after -timeout 300ms ($KLEPTO_TIMEOUT)"}, "ls", "-db", dsn, "-connect-timeout", "0")
		})
	}
}

// The default connect timeout is 10s, and bad values of the flags and
// variables are usage errors.
func TestTimeoutFlags(t *testing.T) {
	e := &env{getenv: func(string) string { return "" }}
	if err := e.timeoutFlags(flag.NewFlagSet("klepto-sql", flag.ContinueOnError)); err != nil {
		t.Fatal(err)
	}
	if e.connectTimeout != defaultConnectTimeout || defaultConnectTimeout != 10*time.Second || e.timeout != 0 {
		t.Fatalf("defaults: -connect-timeout %v, -timeout %v; want 10s and 0", e.connectTimeout, e.timeout)
	}
	t.Setenv(timeoutEnv, "soon")
	fails(t, exitUsage, []string{"$KLEPTO_TIMEOUT: want a duration"}, "ls")
	t.Setenv(timeoutEnv, "")
	fails(t, exitUsage, []string{"negative -connect-timeout or -timeout"}, "ls", "-timeout", "-1s")
}

// The first SIGTERM or SIGINT stops klepto-sql at once, even while it
// waits for a server's answer, with status 1 and a message that names
// the signal.
func TestSignalStopsConnect(t *testing.T) {
	if testing.Short() {
		t.Skip("runs klepto-sql as a process")
	}
	for _, tc := range []struct {
		kind string
		sig  syscall.Signal
		want string
	}{
		{"postgres", syscall.SIGTERM, "terminated signal received"},
		{"postgres", syscall.SIGINT, "interrupt signal received"},
		{"mysql-url", syscall.SIGTERM, "terminated signal received"},
		{"mysql-go-sql", syscall.SIGINT, "interrupt signal received"},
	} {
		t.Run(tc.kind+"/"+tc.sig.String(), func(t *testing.T) {
			addr, accepted := hungServer(t) // a server of its own: accepted is this process's
			cmd := exec.Command(os.Args[0], "-connect-timeout", "10m", "ls", "-db", hungDSNs(addr)[tc.kind])
			cmd.Env = append(os.Environ(), mainEnv+"=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-accepted: // klepto-sql waits for the server's answer
			case err := <-done:
				t.Fatalf("klepto-sql exited before connecting: %v\n%s", err, stderr.String())
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				t.Fatal("klepto-sql did not connect within a minute")
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("klepto-sql still running 10s after %v", tc.sig)
			}
			took := time.Since(start)
			t.Logf("exited %v after %v", err, took)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
				t.Fatalf("klepto-sql: %v, want exit status 1\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) || strings.Contains(stderr.String(), "s3cret") {
				t.Fatalf("stderr %q, want a message holding %q and no password", stderr.String(), tc.want)
			}
			if took > 2*time.Second {
				t.Errorf("klepto-sql took %v to stop after %v", took, tc.sig)
			}
		})
	}
}

// A command that waits for the answer to a query that never comes stops at
// the first signal: lib/pq, which would wait on, reads through package
// pqconn, which ends the wait when the query's context ends.
func TestSignalStopsHungQuery(t *testing.T) {
	if testing.Short() {
		t.Skip("runs klepto-sql as a process")
	}
	addr, ready := silentPostgres(t)
	cmd := exec.Command(os.Args[0], "ls", "-db", "postgres://app@"+addr+"/app?sslmode=disable")
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-ready: // connected: klepto-sql waits for the answer to its ping
	case err := <-done:
		t.Fatalf("klepto-sql exited before connecting: %v\n%s", err, stderr.String())
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("klepto-sql did not connect within a minute")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("klepto-sql still running 30s after SIGTERM")
	}
	t.Logf("exited %v after %v: %s", err, time.Since(start), stderr.String())
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
		t.Fatalf("klepto-sql: %v, want exit status 1", err)
	}
	if want := "klepto-sql: terminated signal received"; !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr %q, want %q", stderr.String(), want)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("klepto-sql took %v to stop after SIGTERM", took)
	}
}

// A PostgreSQL DSN that sets lib/pq's own connect_timeout connects: the
// dialer that bounds the handshake by the command's context must not take
// the end of lib/pq's dial context for the end of the connection.
func TestPostgresConnectTimeoutParam(t *testing.T) {
	db := sqltest.Fresh(t, dialect.Postgres)
	u, err := url.Parse(dsnOf(t, db, false))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("connect_timeout", "5")
	u.RawQuery = q.Encode()
	ok(t, "create", "fib", "-db", u.String())
	if out := ok(t, "ls", "-db", u.String()); !strings.Contains(out, "fib") {
		t.Errorf("ls = %q, want fib listed", out)
	}
}

// A command that does not stop when its context ends, as one stuck in a
// driver that pays no heed to it, ends 3s (stopGrace) after the first
// signal, with a message that says so.
func TestSignalStopsStuckCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs klepto-sql as a process")
	}
	cmd := exec.Command(os.Args[0], "hang")
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(stdout, make([]byte, len("hanging"))); err != nil {
		t.Fatalf("the command did not start: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("klepto-sql still running 30s after SIGTERM")
	}
	took := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
		t.Fatalf("klepto-sql: %v, want exit status 1", err)
	}
	if want := "klepto-sql: terminated signal received, and the command did not stop within 3s: exiting"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	if took < stopGrace-100*time.Millisecond || took > stopGrace+2*time.Second {
		t.Errorf("klepto-sql exited %v after SIGTERM, want about %v", took, stopGrace)
	}
}

package sqltest

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
)

// pauseHelperEnv makes TestReplicaPauseHelper run: TestPauseReplayOtherProcess
// sets it for the process it starts.
const pauseHelperEnv = "KLEPTO_SQLTEST_PAUSE_HELPER"

// TestPauseReplayOtherProcess runs a test of the standby in this process and
// one that pauses replay in another (this test binary, running
// TestReplicaPauseHelper): the other's pause waits until this process's test
// has ended, with replay going on meanwhile; a test that starts in this
// process during the pause waits for its resume, and then finds replay
// going on.
func TestPauseReplayOtherProcess(t *testing.T) {
	requireDSN(t, PGPrimaryEnv, "a PostgreSQL primary")
	requireDSN(t, PGReplicaEnv, "a PostgreSQL hot standby")
	ctx := t.Context()
	other := startPauser(t)
	other.expect(t, "holding", 2*time.Minute)
	t.Run("pause waits for the test to end", func(t *testing.T) {
		r := PostgresReplica(t)
		if _, err := r.Primary.DB.ExecContext(ctx, `CREATE TABLE t (n int)`); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(other.stdin, "pause\n"); err != nil {
			t.Fatal(err)
		}
		other.expect(t, "pausing", time.Minute)
		// The other process now asks for the exclusive hold: it waits for
		// this test, and the standby keeps replaying.
		waited := false
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
			if line, ok := other.poll(); ok {
				t.Fatalf("the other process printed %q while this process's test of the standby runs; want it waiting to pause", line)
			}
			if state := replayState(t, r.standby); state != "not paused" {
				t.Fatalf("the standby's replay is %s while this process's test of it runs; want not paused", state)
			}
			if _, err := r.Primary.DB.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			r.WaitReplay(t)
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("WaitReplay took %v with no pause; want far less", d)
			}
			if !waited {
				err := r.admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory'
					AND NOT granted AND objsubid = 1 AND (classid::bigint << 32 | objid::bigint) = $1)`, int64(replayLock)).Scan(&waited)
				if err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !waited {
			t.Error("no session waited for the lock on pauses of replay; want the other process waiting for it")
		}
	})
	if t.Failed() {
		return
	}
	// This process's test has ended: the other process pauses replay.
	other.expect(t, "paused", time.Minute)

	t.Run("test waits for the pause to end", func(t *testing.T) {
		released := make(chan time.Time, 1)
		go func() {
			time.Sleep(2 * time.Second)
			released <- time.Now()
			_ = other.stdin.Close()
		}()
		r := PostgresReplica(t)
		returned := time.Now()
		if at := <-released; returned.Before(at) {
			t.Errorf("PostgresReplica returned %v before the other process was told to resume", at.Sub(returned))
		}
		if state := replayState(t, r.standby); state != "not paused" {
			t.Errorf("the standby's replay is %s once PostgresReplica returned; want not paused", state)
		}
	})
	other.expect(t, "resumed", time.Minute)
	if err := other.wait(); err != nil {
		t.Errorf("the other process: %v", err)
	}
}

// TestReplicaPauseHelper is the other process of TestPauseReplayOtherProcess:
// it holds a Replica and prints holding; once told to on its standard input,
// it prints pausing, pauses replay and prints paused; once its standard input
// ends, it resumes and prints resumed.
func TestReplicaPauseHelper(t *testing.T) {
	if os.Getenv(pauseHelperEnv) == "" {
		t.Skip("runs only as the process TestPauseReplayOtherProcess starts")
	}
	r := PostgresReplica(t)
	fmt.Println("holding")
	in := bufio.NewReader(os.Stdin)
	if line, err := in.ReadString('\n'); err != nil || line != "pause\n" {
		t.Fatalf("read %q, %v; want pause", line, err)
	}
	fmt.Println("pausing")
	resume := r.PauseReplay(t)
	fmt.Println("paused")
	if _, err := io.Copy(io.Discard, in); err != nil {
		t.Error(err)
	}
	resume()
	fmt.Println("resumed")
}

// pauser is the process running TestReplicaPauseHelper.
type pauser struct {
	stdin io.WriteCloser
	lines chan string   // its standard output, closed at its end
	done  chan struct{} // closed at its exit
	err   error         // its exit's, once done is closed
}

func startPauser(t *testing.T) *pauser {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReplicaPauseHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), pauseHelperEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the other process: %v", err)
	}
	p := &pauser{stdin: stdin, lines: make(chan string, 100), done: make(chan struct{})}
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			p.lines <- s.Text()
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-p.done:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
		}
	})
	return p
}

// expect waits up to d for the next line of the process's output and fails
// unless it is want.
func (p *pauser) expect(t *testing.T, want string, d time.Duration) {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			<-p.done
			t.Fatalf("the other process ended (%v) before printing %q", p.err, want)
		}
		if line != want {
			t.Fatalf("the other process printed %q; want %q", line, want)
		}
	case <-time.After(d):
		t.Fatalf("the other process has not printed %q after %v", want, d)
	}
}

// poll returns the next line of the process's output if there is one.
func (p *pauser) poll() (string, bool) {
	select {
	case line, ok := <-p.lines:
		return line, ok
	default:
		return "", false
	}
}

// wait waits for the process's end, reading the rest of its output.
func (p *pauser) wait() error {
	for range p.lines {
	}
	<-p.done
	return p.err
}

func replayState(t *testing.T, standby *sql.DB) string {
	t.Helper()
	var state string
	if err := standby.QueryRowContext(context.Background(), `SELECT pg_get_wal_replay_pause_state()`).Scan(&state); err != nil {
		t.Fatalf("read the standby's replay state: %v", err)
	}
	return state
}

// TestPostgresReplicaResumesLeftPause leaves replay paused as a process
// that died while it held a pause would: its session, and so its hold of
// the lock, ends, and the pause stays. PostgresReplica resumes it.
func TestPostgresReplicaResumesLeftPause(t *testing.T) {
	driverName := PostgresDriver(t)
	admin := openServer(t, driverName, requireDSN(t, PGPrimaryEnv, "a PostgreSQL primary"))
	standby := openServer(t, driverName, requireDSN(t, PGReplicaEnv, "a PostgreSQL hot standby"))
	ctx := t.Context()
	conn, err := admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Hold the lock exclusive, as PauseReplay does, so as to pause no other
	// test; closing the pool ends the session, as the process's death would.
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, replayLock); err != nil {
		t.Fatal(err)
	}
	if _, err := standby.ExecContext(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	if err := admin.Close(); err != nil {
		t.Fatal(err)
	}
	if state := replayState(t, standby); state == "not paused" {
		t.Fatalf("the standby's replay is %s after pg_wal_replay_pause", state)
	}
	r := PostgresReplica(t)
	if state := replayState(t, r.standby); state != "not paused" {
		t.Errorf("the standby's replay is %s once PostgresReplica returned; want not paused", state)
	}
}

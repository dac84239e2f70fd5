package integration

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"
	_ "github.com/mattn/go-sqlite3"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqltable"
)

// childEnv, set in a child's environment, makes TestMain run one of the
// child programs instead of the tests: the test binary re-executes itself,
// so the processes are real and nothing is built twice. Its value is the
// child's configuration, as JSON; the field "mode" picks the program: ""
// for the memoizing loop of runChild, "serve" for the memo server of
// runServe, "janitor" for the janitor of runJanitor, "load" for the load
// program of runLoad.
const childEnv = "KLEPTO_INTEGRATION_CHILD"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		var head struct {
			Mode string `json:"mode"`
		}
		err := json.Unmarshal([]byte(cfg), &head)
		if err == nil {
			switch head.Mode {
			case "":
				err = runChild()
			case "serve":
				err = runServe()
			case "janitor":
				err = runJanitor()
			case "load":
				err = runLoad()
			default:
				err = fmt.Errorf("unknown mode %q", head.Mode)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	removeCLI()
	os.Exit(code)
}

// fibArgs is the memoized function's argument; its key is (N=10).
type fibArgs struct {
	N int
}

// fib is deliberately slow, so that concurrent processes overlap.
func fib(ctx context.Context, a fibArgs) (int, error) {
	select {
	case <-time.After(2 * time.Millisecond):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	x, y := 0, 1
	for range a.N {
		x, y = y, x+y
	}
	return x, nil
}

// childConfig is what the parent passes to a child, in its environment.
type childConfig struct {
	Driver  string `json:"driver"`
	DSN     string `json:"dsn"`
	Dialect string `json:"dialect"`
	Table   string `json:"table"`
	From    int    `json:"from"` // the child calls fib(N) for N = From, From+Step, ... while in [0, Count)
	Step    int    `json:"step"`
	Count   int    `json:"count"`
	Wait    bool   `json:"wait"` // print "ready" and wait for a line on stdin before calling
}

// runChild is the memoizing program: it opens the database, memoizes fib into
// a table and prints its cache.Info as JSON.
func runChild() error {
	var cfg childConfig
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &cfg); err != nil {
		return err
	}
	ctx := context.Background()
	db, err := sql.Open(cfg.Driver, cfg.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := dialect.Lookup(cfg.Dialect)
	if err != nil {
		return err
	}
	table, err := sqltable.Open[int](ctx, db, cfg.Table, &sqltable.Options{Dialect: d})
	if err != nil {
		return err
	}
	defer table.Close()
	m, err := cache.Memoize(fib, &cache.MemoOptions[int]{Archive: table, MaxSize: 1000})
	if err != nil {
		return err
	}
	if cfg.Wait {
		fmt.Println("ready")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			return err
		}
	}
	for n := cfg.From; n >= 0 && n < cfg.Count; n += cfg.Step {
		v, err := m.Call(ctx, fibArgs{N: n})
		if err != nil {
			return fmt.Errorf("fib(%d): %w", n, err)
		}
		if want, _ := fib(ctx, fibArgs{N: n}); v != want {
			return fmt.Errorf("fib(%d) = %d, want %d", n, v, want)
		}
	}
	return json.NewEncoder(os.Stdout).Encode(m.Info())
}

// child starts the memoizing program as a new process.
type child struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stdout *bufio.Reader
}

// childExit is how long a child has to exit after its stdin closes, at the
// end of its test, before it is killed.
const childExit = 10 * time.Second

// startChild starts a child program with the configuration cfg, a
// childConfig or a serveConfig. When the test ends, the child's stdin is
// closed, which tells it to finish; if it has not exited after childExit, it
// is killed.
func startChild(t testing.TB, cfg any) *child {
	t.Helper()
	env, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Not t.Context(), which ends before the cleanups run: the child
	// would be killed before it could finish (and release its leases).
	ctx, kill := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(env))
	cmd.Stderr = os.Stderr
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = stdinR
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		kill()
		t.Fatal(err)
	}
	stdinR.Close()
	t.Cleanup(func() {
		defer kill()
		stdinW.Close()
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(childExit):
			t.Errorf("child %d did not exit %v after its stdin closed: killed", cmd.Process.Pid, childExit)
			kill()
			<-exited
		}
	})
	return &child{cmd: cmd, stdin: stdinW, stdout: bufio.NewReader(out)}
}

// readLine returns the child's next line of output.
func (c *child) readLine(t testing.TB) string {
	t.Helper()
	line, err := c.stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("child %d: reading its output: %v (its errors are above)", c.cmd.Process.Pid, err)
	}
	return line
}

// info waits for the child to finish and returns its cache.Info.
func (c *child) info(t *testing.T) cache.Info {
	t.Helper()
	var info cache.Info
	line := c.readLine(t)
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("child output %q: %v", line, err)
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	return info
}

func runChildOnce(t *testing.T, cfg childConfig) cache.Info {
	t.Helper()
	return startChild(t, cfg).info(t)
}

func config(db sqltest.Database, table string) childConfig {
	return childConfig{Driver: db.Driver, DSN: db.DSN, Dialect: db.Dialect.Name(), Table: table, Step: 1}
}

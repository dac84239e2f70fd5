package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Built with CGO_ENABLED=0, klepto-sql uses modernc.org/sqlite, and
// creates, writes and reads SQLite archives that the default build (this
// test's, with go-sqlite3) reads and writes too.
func TestBuildWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds klepto-sql without cgo, compiling modernc.org/sqlite: skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "klepto-sql")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	sh := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Env = append(os.Environ(), dsnEnv+"=")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Fatalf("klepto-sql %q (without cgo): %v\nstderr: %s", args, err, stderr.String())
		}
		return stdout.String()
	}
	if v := decode[versionJSON](t, sh("version", "-json")); v.SQLite != "modernc.org/sqlite" {
		t.Fatalf("version -json of the build without cgo = %+v, want sqlite modernc.org/sqlite", v)
	}
	// With cgo, -tags modernc selects it too.
	tagged := filepath.Join(dir, "klepto-sql-modernc")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-tags", "modernc", "-o", tagged, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags modernc: %v\n%s", err, out)
	}
	if out, err := exec.CommandContext(t.Context(), tagged, "version", "-json").Output(); err != nil || decode[versionJSON](t, string(out)).SQLite != "modernc.org/sqlite" {
		t.Fatalf("version -json of the build with -tags modernc: %v, %s", err, out)
	}

	dsn := "sqlite:" + filepath.Join(dir, "nocgo.db")
	sh("create", "fib", "-db", dsn)
	sh("put", "fib", "(n=10)", "55", "-db", dsn)
	if got := sh("get", "fib", "(n=10)", "-db", dsn); got != "55\n" {
		t.Fatalf("get (without cgo) = %q", got)
	}
	// The same file, through go-sqlite3, and back.
	if got := ok(t, "get", "fib", "(n=10)", "-db", dsn); got != "55\n" {
		t.Fatalf("get (go-sqlite3) of what the build without cgo put = %q", got)
	}
	ok(t, "put", "fib", "(n=11)", "89", "-db", dsn)
	if got := sh("ls", "-db", dsn); !strings.Contains(got, "fib") {
		t.Fatalf("ls (without cgo) = %q", got)
	}
	if got := sh("export", "fib", "-db", dsn); strings.Count(got, "\n") != 3 || !strings.Contains(got, `"key":"(n=11)"`) {
		t.Fatalf("export (without cgo) = %q", got)
	}
}

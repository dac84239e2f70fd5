package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// Archives copied from SQLite to PostgreSQL, to MySQL and back to SQLite
// export as the same files at every step, and copying again changes
// nothing.
func TestCopy(t *testing.T) {
	src := sqltest.Fresh(t, dialect.SQLite)
	populate(t, src.DB, dialect.SQLite, testNow())
	from := dsnOf(t, src, false)
	dir := t.TempDir()
	want := exportAll(t, from, filepath.Join(dir, "sqlite"))

	pg := freshDSN(t, dialect.Postgres, false)
	my := freshDSN(t, dialect.MySQL, false) // as a mysql:// URL
	back := "sqlite:" + filepath.Join(dir, "back.db")
	counts := []copiedJSON{{"blobs", 3, 0}, {"docs@v2", 4, 0}, {"fib", 1100, 0}, {"points", 3, 0}}
	for i, step := range [][2]string{{from, pg}, {pg, my}, {my, back}} {
		for range 2 { // again, as after an interruption
			got := decode[[]copiedJSON](t, ok(t, "copy", "-db", step[0], "-to", step[1], "-json"))
			if !reflect.DeepEqual(got, counts) {
				t.Fatalf("copy %d = %+v, want %+v", i, got, counts)
			}
		}
		sameExports(t, exportAll(t, step[1], filepath.Join(dir, "step", string(rune('0'+i)))), want)
		if got, want := decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", step[1])), decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", from)); !sameArchives(got, want) {
			t.Fatalf("archives after copy %d: %+v\nwant %+v", i, got, want)
		}
	}

	// Named archives only, with text output.
	only := "sqlite:" + filepath.Join(dir, "only.db")
	if got := ok(t, "copy", "-db", from, "-to", only, "points", "fib"); got != "NAME    ENTRIES\npoints  3\nfib     1100\n" {
		t.Fatalf("copy of named archives printed %q", got)
	}
	if got := names(t, only); !reflect.DeepEqual(got, []string{"fib", "points"}) {
		t.Fatalf("copied archives %q", got)
	}
	fails(t, exitUsage, []string{"-to names the database of -db"}, "copy", "-db", from, "-to", from)
	// An archive of the same name made otherwise is refused.
	other := "sqlite:" + filepath.Join(dir, "other.db")
	ok(t, "create", "points", "-codec", "raw", "-db", other)
	fails(t, exitFailure, []string{`is stored with codec raw, opened with gob`}, "copy", "-db", from, "-to", other, "points")
}

// sameArchives reports whether two lists of archives describe the same
// archives, whenever they were created.
func sameArchives(a, b []archiveJSON) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.CreatedAt, y.CreatedAt = timestamp{}, timestamp{}
		if x.Bytes != y.Bytes && x.Codec == "json" { // databases store JSON in their own forms
			x.Bytes = y.Bytes
		}
		if x != y {
			return false
		}
	}
	return true
}

// The binary, built and run as a person would: help, usage errors,
// $KLEPTO_DSN, and a copy from SQLite to PostgreSQL and back with the same
// exports.
func TestBinary(t *testing.T) {
	pg := freshDSN(t, dialect.Postgres, false)
	dir := t.TempDir()
	bin := filepath.Join(dir, "klepto-sql")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sh := func(stdin string, env []string, args ...string) result {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("run %q: %v", args, err)
		}
		return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
	}
	noEnv := []string{dsnEnv + "="}

	if r := sh("", noEnv, "help"); r.code != 0 || !strings.Contains(r.stdout, "Usage: klepto-sql") || r.stderr != "" {
		t.Fatalf("help: %+v", r)
	}
	if r := sh("", noEnv, "get", "-h"); r.code != 0 || !strings.Contains(r.stdout, "Examples:") {
		t.Fatalf("get -h: %+v", r)
	}
	if r := sh("", noEnv); r.code != 2 || !strings.Contains(r.stderr, "Try: klepto-sql help") || r.stdout != "" {
		t.Fatalf("no command: %+v", r)
	}
	if r := sh("", noEnv, "ls", "-bogus"); r.code != 2 || !strings.HasPrefix(r.stderr, "klepto-sql: flag provided but not defined: -bogus\nUsage: klepto-sql ls") {
		t.Fatalf("bad flag: %+v", r)
	}
	if r := sh("", noEnv, "ls", "-db", "postgres://app:s3cret@127.0.0.1:1/app"); r.code != 1 || strings.Contains(r.stderr, "s3cret") ||
		!strings.HasPrefix(r.stderr, "klepto-sql: connect to postgres://app:xxxxx@127.0.0.1:1/app: ") {
		t.Fatalf("unreachable database: %+v", r)
	}
	if r := sh("", noEnv, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "klepto-sql ") {
		t.Fatalf("version: %+v", r)
	}

	// The database of $KLEPTO_DSN, then the default klepto.db.
	env := []string{dsnEnv + "=sqlite:" + filepath.Join(dir, "env.db")}
	for _, args := range [][]string{{"create", "fib"}, {"put", "fib", "(n=10)", "55"}} {
		if r := sh("", env, args...); r.code != 0 || r.stderr != "" {
			t.Fatalf("%q: %+v", args, r)
		}
	}
	if r := sh("", env, "get", "fib", "(n=10)"); r.stdout != "55\n" {
		t.Fatalf("get: %+v", r)
	}
	if r := sh("", noEnv, "create", "local"); r.code != 0 {
		t.Fatalf("create in klepto.db: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "klepto.db")); err != nil {
		t.Fatal(err)
	}

	// SQLite to PostgreSQL and back.
	src := sqltest.Fresh(t, dialect.SQLite)
	populate(t, src.DB, dialect.SQLite, testNow())
	from := dsnOf(t, src, false)
	back := "sqlite:" + filepath.Join(dir, "back.db")
	exports := func(dsn string) map[string]string {
		t.Helper()
		out := make(map[string]string)
		for _, name := range testArchives {
			r := sh("", noEnv, "export", name, "-db", dsn)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("export %s: %+v", name, r)
			}
			out[name] = r.stdout
		}
		return out
	}
	want := exports(from)
	for _, step := range [][2]string{{from, pg}, {pg, back}} {
		if r := sh("", noEnv, "copy", "-db", step[0], "-to", step[1]); r.code != 0 || r.stderr != "" || !strings.Contains(strings.Join(strings.Fields(r.stdout), " "), "fib 1100 points 3") {
			t.Fatalf("copy to %s: %+v", step[1], r)
		}
		sameExports(t, exports(step[1]), want)
	}
	// An export piped into an import.
	if r := sh(want["fib"], noEnv, "import", "fib_again", "-db", back); r.code != 0 || r.stdout != "imported 1100 entries into fib_again\n" {
		t.Fatalf("import: %+v", r)
	}
	if r := sh("", noEnv, "export", "fib_again", "-db", back); r.stdout != renamed(t, want["fib"], "fib_again") {
		t.Fatal("export of the imported archive differs")
	}
}

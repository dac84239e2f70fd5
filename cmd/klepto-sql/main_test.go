package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// result is what one run of klepto-sql printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// klepto runs klepto-sql in-process with args and an empty stdin.
func klepto(t *testing.T, args ...string) result {
	t.Helper()
	return kleptoIn(t, "", args...)
}

// kleptoIn runs klepto-sql in-process with args and stdin.
func kleptoIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

// ok runs klepto-sql and fails the test unless it succeeds, printing
// nothing on stderr; it returns stdout.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	return okIn(t, "", args...)
}

// okIn is ok with stdin.
func okIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := kleptoIn(t, stdin, args...)
	if r.code != exitOK {
		t.Fatalf("klepto-sql %q: exit %d\nstderr: %s", args, r.code, r.stderr)
	}
	if r.stderr != "" {
		t.Fatalf("klepto-sql %q: stderr: %s", args, r.stderr)
	}
	return r.stdout
}

// fails runs klepto-sql and fails the test unless it exits with code and
// an error message holding every part, on stderr only.
func fails(t *testing.T, code int, parts []string, args ...string) result {
	t.Helper()
	return failsIn(t, "", code, parts, args...)
}

func failsIn(t *testing.T, stdin string, code int, parts []string, args ...string) result {
	t.Helper()
	r := kleptoIn(t, stdin, args...)
	if r.code != code {
		t.Fatalf("klepto-sql %q: exit %d, want %d\nstdout: %s\nstderr: %s", args, r.code, code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "klepto-sql: ") || strings.Count(r.stderr, "klepto-sql: ") != 1 {
		t.Fatalf("klepto-sql %q: stderr %q, want one line starting with klepto-sql: ", args, r.stderr)
	}
	for _, p := range parts {
		if !strings.Contains(r.stderr, p) {
			t.Fatalf("klepto-sql %q: stderr %q does not hold %q", args, r.stderr, p)
		}
	}
	if name := archiveArg(args); name != "" {
		line, _, _ := strings.Cut(r.stderr, "\n")
		if n := countWord(line, name); n > 1 {
			t.Fatalf("klepto-sql %q: stderr %q names the archive %q %d times, want once", args, line, name, n)
		}
	}
	if code == exitUsage && (!strings.Contains(r.stderr, "\nUsage: klepto-sql") || !strings.Contains(r.stderr, "\nTry: klepto-sql ")) {
		t.Fatalf("klepto-sql %q: stderr %q, want the usage and a Try: hint", args, r.stderr)
	}
	if r.stdout != "" {
		t.Fatalf("klepto-sql %q: failed and printed %q on stdout", args, r.stdout)
	}
	return r
}

// archiveArg returns the archive that the command line args names, or "".
func archiveArg(args []string) string {
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		return ""
	}
	switch args[0] {
	case "create", "drop", "show", "get", "put", "rm", "export", "import", "copy", "purge", "stats":
		return args[1]
	}
	return ""
}

// countWord counts the occurrences of word in s that are not part of a
// longer name (letters, digits, _ and @ around it).
func countWord(s, word string) int {
	inName := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '@'
	}
	n := 0
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return n
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !inName(s[start-1])) && (end == len(s) || !inName(s[end])) {
			n++
		}
		i = end
	}
}

// decode decodes the JSON document out into a new V.
func decode[V any](t *testing.T, out string) V {
	t.Helper()
	var v V
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("%q holds more than one JSON document", out)
	}
	return v
}

// freshDSN returns the -db of a fresh database of d, as a user would
// write it (see dsnOf).
func freshDSN(t *testing.T, d *dialect.Dialect, driverForm bool) string {
	t.Helper()
	return dsnOf(t, sqltest.Fresh(t, d), driverForm)
}

// dsnOf returns the -db of the fresh database db, as a user would write
// it: sqlite:PATH, the postgres:// URL of lib/pq (with its search_path
// parameter), and for MySQL a mysql:// URL, or, with driverForm,
// go-sql-driver's DSN behind mysql:.
func dsnOf(t *testing.T, db sqltest.Database, driverForm bool) string {
	t.Helper()
	switch db.Dialect {
	case dialect.SQLite:
		return "sqlite:" + db.Name
	case dialect.MySQL:
		if driverForm {
			return "mysql:" + db.DSN
		}
		cfg, err := parseMySQL(db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		user := cfg.User
		if cfg.Passwd != "" {
			user += ":" + cfg.Passwd
		}
		return "mysql://" + user + "@" + cfg.Addr + "/" + cfg.DBName
	}
	return db.DSN
}

// eachDB runs fn as a subtest for each database, with the -db of a fresh
// database of it.
func eachDB(t *testing.T, fn func(t *testing.T, dsn string)) {
	for i, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			fn(t, freshDSN(t, d, i%2 == 0))
		})
	}
}

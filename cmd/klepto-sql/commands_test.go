package main

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
)

// Every command has help with examples, printed on stdout, with exit
// status 0, however it is asked for.
func TestHelp(t *testing.T) {
	top := ok(t, "help")
	if ok(t, "-h") != top {
		t.Error("klepto-sql -h differs from klepto-sql help")
	}
	for _, c := range (&env{}).commands() {
		d := c.doc()
		if !strings.Contains(top, "  "+d.name+" ") || !strings.Contains(top, "\n  "+firstCommandLine(d.examples[0])+"\n") {
			t.Errorf("klepto-sql help does not list %s with its first example", d.name)
		}
		help := ok(t, "help", d.name)
		for _, want := range []string{"Usage: klepto-sql " + d.name, "Examples:\n  klepto-sql ", "Exit status: 0"} {
			if !strings.Contains(help, want) {
				t.Errorf("klepto-sql help %s does not hold %q:\n%s", d.name, want, help)
			}
		}
		if d.name != "help" {
			if got := ok(t, d.name, "-h"); got != help {
				t.Errorf("klepto-sql %s -h differs from klepto-sql help %s", d.name, d.name)
			}
		}
	}
	if help := ok(t, "help", "get"); !strings.Contains(help, "-db DSN") || !strings.Contains(help, "postgres://") {
		t.Errorf("the help of get does not explain -db:\n%s", help)
	}
}

// Mistakes in the command line print the usage and a hint on stderr,
// and exit with status 2.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"-nope", "ls"}, "flag provided but not defined: -nope"},
		{[]string{"ls", "-nope"}, "flag provided but not defined: -nope"},
		{[]string{"get", "fib"}, "get: missing KEY"},
		{[]string{"get"}, "get: missing NAME"},
		{[]string{"ls", "extra"}, `ls: unexpected argument "extra"`},
		{[]string{"put", "fib", "k"}, "put: missing VALUE"},
		{[]string{"put", "fib", "k", "-1"}, "flag provided but not defined: -1"},
		{[]string{"show", "fib", "-limit", "x"}, `invalid value "x" for flag -limit`},
		{[]string{"show", "fib", "-limit", "-1"}, "-limit and -offset must not be negative"},
		{[]string{"help", "frobnicate"}, `help: unknown command "frobnicate"`},
		{[]string{"create", "fib", "-codec", "xml"}, "create: -codec"},
		{[]string{"create", "fib", "-ttl", "-1s"}, "-ttl must not be negative"},
		{[]string{"import", "fib", "-codec", "xml"}, `invalid value "xml" for flag -codec`},
		{[]string{"migrate"}, "migrate: missing up, down"},
		{[]string{"migrate", "sideways"}, `migrate: unknown subcommand "sideways"`},
		{[]string{"migrate", "force"}, "migrate force: missing V"},
		{[]string{"migrate", "up", "2"}, `migrate up: unexpected argument "2"`},
		{[]string{"migrate", "generate", "-dialect", "sqlite"}, "missing -dir"},
		{[]string{"migrate", "sql", "-dialect", "oracle"}, "-dialect"},
		{[]string{"copy"}, "copy: missing -to"},
		{[]string{"ls", "-db", "sqlserver://host/db"}, "unknown database sqlserver://host/db: want sqlite:PATH"},
		{[]string{"get", "fib", "(n=1)", "-db", "klepto"}, "unknown database klepto"},
		{[]string{"copy", "-db", "sqlite:a.db", "-to", "oracle://host/db"}, "-to: unknown database oracle://host/db"},
		{[]string{"ls", "-db", "postgres://app:s3cret@host:port/db"}, "invalid PostgreSQL URL postgres://xxxxx@host:port/db"},
		{[]string{"purge", "fib", "-yes"}, "say what to remove"},
		{[]string{"purge", "fib", "-all", "-expired", "-yes"}, "-all removes every entry: give it alone"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fails(t, exitUsage, []string{tc.want}, tc.args...)
		})
	}
	r := fails(t, exitUsage, nil, "get", "fib")
	if !strings.Contains(r.stderr, "Usage: klepto-sql get [-db DSN] [-json] NAME KEY\nTry: klepto-sql get fib '(n=30)'\n") {
		t.Errorf("usage of get:\n%s", r.stderr)
	}
}

func TestShellQuote(t *testing.T) {
	got := shellQuote([]string{"drop", "fib@v2", "-db", "postgres://app:pw@host/db?sslmode=disable&x=1", "(n=1)", "it's", ""})
	if want := `drop fib@v2 -db 'postgres://app:pw@host/db?sslmode=disable&x=1' '(n=1)' 'it'\''s' ''`; got != want {
		t.Errorf("shellQuote = %s, want %s", got, want)
	}
}

// Flags and arguments may come in any order; -- ends the flags.
func TestArgumentOrder(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "order.db")
	ok(t, "create", "-db", dsn, "temps")
	ok(t, "put", "temps", "(city=Oslo)", "-db", dsn, "--", "-3.5")
	ok(t, "-db", dsn, "put", "temps", "-raw", "--", "-k", "-1")
	if got := ok(t, "get", "temps", "-db", dsn, "(city=Oslo)"); got != "-3.5\n" {
		t.Fatalf("get = %q", got)
	}
	if got := ok(t, "-db", dsn, "get", "temps", "--", "-k"); got != "-1\n" {
		t.Fatalf("get -- -k = %q", got)
	}
}

// The database is -db, then $KLEPTO_DSN, then klepto.db in the current
// folder.
func TestDefaultDatabase(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(dsnEnv, "")
	fails(t, exitFailure, []string{"no SQLite database at klepto.db"}, "ls")
	if _, err := os.Stat(filepath.Join(dir, "klepto.db")); !os.IsNotExist(err) {
		t.Fatalf("ls left a database behind: %v", err)
	}
	notice := "klepto-sql: using sqlite:klepto.db in the current folder (no -db, no $KLEPTO_DSN)\n"
	if r := klepto(t, "create", "here"); r.code != exitOK || r.stderr != notice {
		t.Fatalf("create in the default database: exit %d, stderr %q; want the notice %q", r.code, r.stderr, notice)
	}
	if r := klepto(t, "migrate", "up"); r.code != exitOK || r.stderr != notice {
		t.Fatalf("migrate up in the default database: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := klepto(t, "stats", "here"); r.code != exitOK || r.stderr != "" {
		t.Fatalf("stats in the default database: exit %d, stderr %q; want no notice", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "klepto.db")); err != nil {
		t.Fatalf("create made no klepto.db in the current folder: %v", err)
	}
	t.Setenv(dsnEnv, "sqlite:"+filepath.Join(dir, "env.db"))
	ok(t, "create", "there")
	if got := names(t, ""); !reflect.DeepEqual(got, []string{"there"}) {
		t.Fatalf("archives of $KLEPTO_DSN: %q", got)
	}
	if got := names(t, "sqlite:klepto.db"); !reflect.DeepEqual(got, []string{"here"}) {
		t.Fatalf("archives of -db: %q", got)
	}
}

// names returns the names ls -json lists.
func names(t *testing.T, dsn string) []string {
	t.Helper()
	args := []string{"ls", "-json"}
	if dsn != "" {
		args = append(args, "-db", dsn)
	}
	var names []string
	for _, a := range decode[[]archiveJSON](t, ok(t, args...)) {
		names = append(names, a.Name)
	}
	return names
}

// Passwords never appear, in errors either.
func TestPasswordsRedacted(t *testing.T) {
	src := "sqlite:" + filepath.Join(t.TempDir(), "src.db")
	ok(t, "create", "fib", "-db", src)
	for _, dsn := range []string{
		"postgres://app:s3cret@127.0.0.1:1/app?sslmode=disable",
		"postgres://app@127.0.0.1:1/app?sslmode=disable&password=s3cret",
		"postgres://app:s3cret@127.0.0.1:bad/app",
		"mysql://app:s3cret@127.0.0.1:1/app",
		"mysql:app:s3cret@tcp(127.0.0.1:1)/app",
		"mysql:app:s3cret@tcp(127.0.0.1:1/app",
		"oracle://app:s3cret@host/app",
		// URLs that do not parse, whose parser's errors would show the
		// password or part of it.
		"postgres://app:s3cret/x@127.0.0.1/app",
		"postgres://app:s3cret#x@127.0.0.1/app",
		"postgresql://app:s3cret?x@127.0.0.1/app",
		"postgres://app:s3cret x@127.0.0.1/app",
		"mysql://app:s3cret/x@127.0.0.1/app",
		"mysql://app:s3cret#x@127.0.0.1/app",
	} {
		for _, args := range [][]string{{"ls", "-db", dsn}, {"-db", dsn, "stats", "fib"}, {"copy", "-db", src, "-to", dsn}} {
			r := klepto(t, args...)
			// A DSN that does not parse is a usage error; one that does
			// fails to connect.
			if r.code != exitFailure && r.code != exitUsage || strings.Contains(r.stderr+r.stdout, "s3cret") || !strings.Contains(r.stderr, "xxxxx") {
				t.Errorf("klepto-sql %q: exit %d, stderr %q; want a failure (1 or 2) that shows xxxxx for the password", args, r.code, r.stderr)
			}
		}
	}
}

// The commands that read, write and remove entries, on every database.
func TestEntries(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ok(t, "create", "fib", "-db", dsn)
		fails(t, exitFailure, []string{`archive "fib" exists already`}, "create", "fib", "-db", dsn)
		ok(t, "put", "fib", "(n=10)", "55", "-db", dsn)
		ok(t, "put", "fib", "(n=11)", `{"b": [1, 2.50], "a": "<&>", "c": null}`, "-db", dsn)
		okIn(t, "\"from stdin\"\n", "put", "fib", "(n=12)", "-", "-db", dsn)
		fails(t, exitFailure, []string{"VALUE is not JSON", `a string needs quotes`}, "put", "fib", "(n=13)", "hello", "-db", dsn)
		// A key that no call of the archive's keymap makes is refused, unless -raw.
		fails(t, exitUsage, []string{`archive "fib": keymap: "n=42" is not a key of keymap string: want the arguments in parentheses, such as (n=30)`, "-raw stores a key as given"},
			"put", "fib", "n=42", "1", "-db", dsn)
		fails(t, exitFailure, []string{`archive "fib" has no key "n=42"`}, "get", "fib", "n=42", "-db", dsn)
		ok(t, "put", "fib", "n=42", "1", "-raw", "-db", dsn)
		if got := ok(t, "get", "fib", "n=42", "-db", dsn); got != "1\n" {
			t.Errorf("get of a key put with -raw = %q", got)
		}
		ok(t, "rm", "fib", "n=42", "-db", dsn)

		if got := ok(t, "get", "fib", "(n=10)", "-db", dsn); got != "55\n" {
			t.Errorf("get = %q", got)
		}
		got := decode[struct {
			Key   string         `json:"key"`
			Value map[string]any `json:"value"`
		}](t, ok(t, "get", "fib", "(n=11)", "-json", "-db", dsn))
		if got.Key != "(n=11)" || !reflect.DeepEqual(got.Value, map[string]any{"a": "<&>", "b": []any{1.0, 2.5}, "c": nil}) {
			t.Errorf("get -json = %+v", got)
		}
		if got := ok(t, "get", "fib", "(n=12)", "-db", dsn); got != "\"from stdin\"\n" {
			t.Errorf("get of a value from stdin = %q", got)
		}
		fails(t, exitFailure, []string{`archive "fib" has no key "(n=99)"`}, "get", "fib", "(n=99)", "-db", dsn)

		shown := decode[[]shownJSON](t, ok(t, "show", "fib", "-json", "-db", dsn))
		if len(shown) != 3 {
			t.Fatalf("show -json: %+v", shown)
		}
		keys := map[string]bool{}
		for _, s := range shown {
			keys[s.Key] = true
			if s.CreatedAt == nil || s.ExpiresAt != nil || s.Size == 0 {
				t.Errorf("show -json entry %+v", s)
			}
		}
		if len(keys) != 3 || !keys["(n=10)"] || !keys["(n=11)"] || !keys["(n=12)"] {
			t.Errorf("show -json keys %v", keys)
		}
		page := decode[[]shownJSON](t, ok(t, "show", "fib", "-json", "-limit", "1", "-offset", "1", "-db", dsn))
		if len(page) != 1 || page[0].Key != shown[1].Key {
			t.Errorf("show -limit 1 -offset 1 = %+v, want %+v", page, shown[1])
		}
		text := ok(t, "show", "fib", "-db", dsn)
		for _, want := range []string{"KEY ", "SIZE", "(n=11)", `{"a":"<&>","b":[1,2.5],"c":null}`, `"from stdin"`} {
			if !strings.Contains(text, want) {
				t.Errorf("show does not hold %q:\n%s", want, text)
			}
		}

		ok(t, "rm", "fib", "(n=10)", "(n=12)", "-db", dsn)
		fails(t, exitFailure, []string{`archive "fib" has no key "(n=10)", "(n=98)"`}, "rm", "fib", "(n=10)", "(n=11)", "(n=98)", "-db", dsn)
		if got := decode[[]shownJSON](t, ok(t, "show", "fib", "-json", "-db", dsn)); len(got) != 0 {
			t.Errorf("left after rm: %+v", got)
		}
	})
}

// The commands that reach entries refuse an archive of a table layout
// they do not know, with one message.
func TestLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "layout.db")
	dsn := "sqlite:" + path
	ok(t, "create", "fib", "-db", dsn)
	db, err := sql.Open("sqlite3", dialect.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(t.Context(), `UPDATE klepto_archives SET layout_version = 2`)
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"get", "fib", "k"}, {"put", "fib", "k", "1"}, {"rm", "fib", "k"}, {"show", "fib"}, {"purge", "fib", "-all", "-yes"},
	} {
		fails(t, exitFailure, []string{`archive "fib" has table layout 2; this klepto-sql knows layout 1`}, append(args, "-db", dsn)...)
	}
}

// shownJSON is an entry of show -json, as a client reads it.
type shownJSON struct {
	Key         string     `json:"key"`
	Args        any        `json:"args"`
	Value       any        `json:"value"`
	ValueBase64 []byte     `json:"value_base64"`
	CreatedAt   *time.Time `json:"created_at"`
	UpdatedAt   *time.Time `json:"updated_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	Size        int        `json:"size"`
}

// ls, stats, purge and drop, on every database.
func TestArchives(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		fails(t, exitFailure, []string{"the catalog table klepto_archives does not exist; run `klepto-sql migrate up`"}, "ls", "-db", dsn)
		ok(t, "migrate", "up", "-db", dsn)
		if got := ok(t, "ls", "-json", "-db", dsn); got != "[]\n" {
			t.Fatalf("ls -json of a database without archives = %q", got)
		}
		ok(t, "create", "fib", "-db", dsn)
		ok(t, "create", "blobs", "-codec", "raw", "-ttl", "1h30m", "-db", dsn)
		ok(t, "create", "fib@v2", "-codec", "gob", "-db", dsn)
		for i, v := range []string{"1", "1", "2"} {
			ok(t, "put", "fib", "(n="+string(rune('0'+i))+")", v, "-db", dsn)
		}
		ok(t, "put", "blobs", "a", "bytes\x00\xff", "-raw", "-db", dsn)

		list := decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", dsn))
		if len(list) != 3 {
			t.Fatalf("ls -json = %+v", list)
		}
		for i := range list {
			list[i].CreatedAt = timestamp{}
		}
		want := []archiveJSON{
			{Name: "blobs", Table: "blobs", Rows: 1, Bytes: 7, Codec: "raw", Keymap: "string", TTLSeconds: 5400, Evict: "lrs"},
			{Name: "fib", Table: "fib", Rows: 3, Bytes: 3, Codec: "json", Keymap: "string", Evict: "lrs"},
			{Name: "fib@v2", Table: "fib__v2", Codec: "gob", Keymap: "string", FuncVersion: "v2", Evict: "lrs"},
		}
		if !reflect.DeepEqual(list, want) {
			t.Fatalf("ls -json = %+v\nwant %+v", list, want)
		}
		text := ok(t, "ls", "-db", dsn)
		for _, want := range []string{"NAME", "ROWS", "BYTES", "CODEC", "KEYMAP", "TTL", "CREATED", "1h30m0s", "fib@v2"} {
			if !strings.Contains(text, want) {
				t.Errorf("ls does not hold %q:\n%s", want, text)
			}
		}
		if got := ok(t, "get", "blobs", "a", "-db", dsn); got != "bytes\x00\xff" {
			t.Errorf("get of raw bytes = %q", got)
		}
		fails(t, exitFailure, []string{"stores gob values, which only Go programs can encode"}, "put", "fib@v2", "k", "1", "-db", dsn)

		statsJSON := ok(t, "stats", "fib", "-json", "-db", dsn)
		stats := decode[struct {
			Name                 string
			Rows, Expired, Bytes int64
			Oldest, Newest       *time.Time
			Hits, Misses, Loads  int64
			StatsAt              *time.Time `json:"stats_at"`
			MaxEntries           int64      `json:"max_entries"`
			MaxBytes             int64      `json:"max_bytes"`
			Evict                string
		}](t, statsJSON)
		if stats.Name != "fib" || stats.Rows != 3 || stats.Bytes != 3 || stats.Oldest == nil || stats.Newest.Before(*stats.Oldest) ||
			stats.Hits != 0 || stats.StatsAt != nil {
			t.Errorf("stats -json = %+v", stats)
		}
		if fields := decode[map[string]any](t, statsJSON); len(fields) != 13 {
			t.Errorf("stats -json has fields %v, want name, rows, expired, bytes, oldest, newest, hits, misses, loads, stats_at, max_entries, max_bytes and evict", fields)
		}
		if text := ok(t, "stats", "fib", "-db", dsn); !strings.Contains(text, "rows     3\n") || !strings.Contains(text, "hits     0\n") ||
			!strings.Contains(text, "counted  never\n") {
			t.Errorf("stats:\n%s", text)
		}

		// Destructive commands without -yes change nothing.
		// The hint is the command given, with -yes.
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"drop", "fib", "-db", dsn}, `refusing to drop the archive "fib" and its 3 entries`},
			{[]string{"-db", dsn, "purge", "fib", "-all"}, `refusing to remove every entry of the archive "fib"`},
			{[]string{"migrate", "down", "-db", dsn}, "refusing to revert"},
		} {
			r := fails(t, exitUsage, []string{tc.want, "without -yes; nothing changed"}, tc.args...)
			if try := "\nTry: klepto-sql " + shellQuote(append(tc.args, "-yes")) + "\n"; !strings.Contains(r.stderr, try) {
				t.Errorf("klepto-sql %q: stderr %q does not hold %q", tc.args, r.stderr, try)
			}
		}
		if got := names(t, dsn); !reflect.DeepEqual(got, []string{"blobs", "fib", "fib@v2"}) {
			t.Fatalf("archives after refused commands: %q", got)
		}
		if got := decode[[]shownJSON](t, ok(t, "show", "fib", "-json", "-db", dsn)); len(got) != 3 {
			t.Fatalf("entries after refused commands: %+v", got)
		}

		if got := ok(t, "purge", "fib", "-expired", "-older-than", "1h", "-yes", "-db", dsn); got != "removed 0 entries from fib\n" {
			t.Errorf("purge of nothing = %q", got)
		}
		if got := ok(t, "purge", "fib", "-older-than", "1ns", "-yes", "-json", "-db", dsn); got != `{"name":"fib","deleted":3}`+"\n" {
			t.Errorf("purge -older-than = %q", got)
		}
		if got := ok(t, "purge", "blobs", "-all", "-yes", "-db", dsn); got != "removed 1 entry from blobs\n" {
			t.Errorf("purge -all = %q", got)
		}
		ok(t, "drop", "fib", "-yes", "-db", dsn)
		if got := names(t, dsn); !reflect.DeepEqual(got, []string{"blobs", "fib@v2"}) {
			t.Fatalf("archives after drop: %q", got)
		}

		// A missing archive is named in the error.
		for _, args := range [][]string{
			{"show", "fib"}, {"get", "fib", "k"}, {"put", "fib", "k", "1"}, {"rm", "fib", "k"},
			{"export", "fib"}, {"stats", "fib"}, {"drop", "fib", "-yes"}, {"purge", "fib", "-all", "-yes"},
			{"copy", "-to", "sqlite:" + filepath.Join(t.TempDir(), "to.db"), "fib"},
		} {
			fails(t, exitFailure, []string{`no archive "fib" in `, "klepto-sql ls lists them"}, append(args, "-db", dsn)...)
		}
		// An invalid archive name is a usage error.
		for _, args := range [][]string{
			{"create", "Fib"}, {"import", "Fib"}, {"get", "fib@", "k"}, {"put", "Fib", "k", "1"}, {"show", "bad name"},
		} {
			fails(t, exitUsage, []string{`invalid archive name "`}, append(args, "-db", dsn)...)
		}
	})
}

func TestMigrate(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		if got := ok(t, "migrate", "version", "-db", dsn); got != "0\n" {
			t.Fatalf("version of an empty database = %q", got)
		}
		up := ok(t, "migrate", "up", "-db", dsn)
		status := decode[struct {
			Version, Latest, Found uint
			Dirty, Agrees          bool
			FoundMixed             bool `json:"found_mixed"`
			Migrations             []migrationJSON
		}](t, ok(t, "migrate", "status", "-json", "-db", dsn))
		if status.Version == 0 || status.Version != status.Latest || status.Dirty || len(status.Migrations) == 0 ||
			status.Migrations[len(status.Migrations)-1].Version != status.Latest ||
			!status.Agrees || status.Found != status.Latest {
			t.Fatalf("status after up = %+v", status)
		}
		for _, m := range status.Migrations {
			if !m.Applied || m.Name == "" {
				t.Errorf("migration %+v", m)
			}
		}
		if want := "version " + itoa(status.Latest) + " (was 0)\n"; up != want {
			t.Errorf("up = %q, want %q", up, want)
		}
		if got := ok(t, "migrate", "up", "-db", dsn); got != "no change: at version "+itoa(status.Latest)+"\n" {
			t.Errorf("up again = %q", got)
		}
		if text := ok(t, "migrate", "status", "-db", dsn); !strings.Contains(text, "VERSION  NAME") || !strings.Contains(text, "applied") {
			t.Errorf("status:\n%s", text)
		}
		ok(t, "create", "fib", "-db", dsn)
		if got := ok(t, "migrate", "force", "1", "-json", "-db", dsn); got != `{"version":1,"dirty":false,"previous":`+itoa(status.Latest)+"}\n" {
			t.Errorf("force 1 -json = %q", got)
		}
		ok(t, "migrate", "force", itoa(status.Latest), "-db", dsn)
		if got := ok(t, "migrate", "down", "-yes", "-db", dsn); got != "version 0 (was "+itoa(status.Latest)+")\n" {
			t.Errorf("down -yes = %q", got)
		}
		fails(t, exitFailure, []string{"klepto_archives does not exist", "migrate up"}, "ls", "-db", dsn)
		if got := decode[struct {
			Version  uint
			Dirty    bool
			Previous uint
		}](t, ok(t, "migrate", "version", "-json", "-db", dsn)); got.Version != 0 || got.Dirty {
			t.Errorf("version -json after down = %+v", got)
		}
	})
}

func itoa(n uint) string { return strconv.FormatUint(uint64(n), 10) }

// migrate sql and generate need no database.
func TestMigrateSQL(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres", "mysql"} {
		script := ok(t, "migrate", "sql", "-dialect", d)
		if !strings.Contains(script, "klepto_archives") {
			t.Errorf("migrate sql -dialect %s:\n%s", d, script)
		}
		dir := filepath.Join(t.TempDir(), "migrations")
		files := decode[struct{ Files []string }](t, ok(t, "migrate", "generate", "-dialect", d, "-dir", dir, "-json"))
		if len(files.Files) == 0 {
			t.Fatalf("generate wrote no files")
		}
		for _, f := range files.Files {
			if _, err := os.Stat(f); err != nil {
				t.Error(err)
			}
		}
	}
	// The dialect of -db, without connecting.
	if got := ok(t, "migrate", "sql", "-db", "postgres://app:s3cret@127.0.0.1:1/app"); got != ok(t, "migrate", "sql", "-dialect", "postgres") {
		t.Error("migrate sql -db postgres://… differs from -dialect postgres")
	}
}

func TestVersion(t *testing.T) {
	v := decode[versionJSON](t, ok(t, "version", "-json"))
	if v.GoVersion == "" || v.Version == "" {
		t.Errorf("version -json = %+v", v)
	}
	if got := ok(t, "version"); !strings.HasPrefix(got, "klepto-sql "+v.Version+" "+v.GoVersion) {
		t.Errorf("version = %q", got)
	}
}

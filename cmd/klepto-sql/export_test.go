package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// point is a value only Go programs can store, with codec gob.
type point struct {
	X, Y float64
	Tag  string
}

// testArchives are the archives populate makes.
var testArchives = []string{"blobs", "docs@v2", "fib", "points"}

// populate fills db with archives of every codec, written by a program
// through package sqlarchive, as the CLI finds them: arguments, a TTL,
// binary keys, and timestamps in whole milliseconds at now, which every
// database stores exactly.
func populate(t *testing.T, db *sql.DB, d *dialect.Dialect, now time.Time) {
	t.Helper()
	ctx := t.Context()
	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: d, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	fib, err := sqlarchive.Table[int](ctx, a, "fib", nil)
	if err != nil {
		t.Fatal(err)
	}
	km, err := keymap.NewString(nil)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 1100 { // more than a page of 500, and a batch of import
		args := struct{ N int }{n}
		key, err := km.Key(args)
		if err != nil {
			t.Fatal(err)
		}
		if n%3 == 0 {
			err = fib.Put(ctx, key, n*n)
		} else {
			err = fib.PutArgs(ctx, key, args, n*n)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	docs, err := sqlarchive.Table[any](ctx, a, "docs@v2", &sqlarchive.TableOptions{TTL: new(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for i, doc := range []any{
		map[string]any{"zeta": 1, "alpha": []any{"<&>", "ünï", nil, true}, "mid": map[string]any{"b": 2.5, "a": -1e-7}},
		"a string\nwith a newline",
		nil,
		[]any{},
	} {
		if err := docs.Put(ctx, keymap.NewKey(fmt.Sprintf("(%d)", i)), doc); err != nil {
			t.Fatal(err)
		}
	}
	blobs, err := sqlarchive.Table[[]byte](ctx, a, "blobs", &sqlarchive.TableOptions{Codec: new(codec.Raw)})
	if err != nil {
		t.Fatal(err)
	}
	for key, value := range map[string][]byte{"text": []byte("plain text"), "\xff\x00binary key": {0, 1, 0xfe, 0xff}, "empty": {}} {
		if err := blobs.Put(ctx, keymap.NewKey(key), value); err != nil {
			t.Fatal(err)
		}
	}
	points, err := sqlarchive.Table[point](ctx, a, "points", &sqlarchive.TableOptions{Codec: new(codec.Gob)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := points.PutArgs(ctx, keymap.NewKey(fmt.Sprintf("(%d)", i)), i, point{float64(i), -1.5, "p"}); err != nil {
			t.Fatal(err)
		}
	}
}

// testNow returns the current time in whole milliseconds.
func testNow() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// exportAll exports every archive of testArchives in dsn into dir, and
// returns the files' contents by archive.
func exportAll(t *testing.T, dsn, dir string) map[string]string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string)
	for _, name := range testArchives {
		file := filepath.Join(dir, name+".jsonl")
		ok(t, "export", name, "-o", file, "-db", dsn)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = string(b)
	}
	return out
}

// header is the first line of an export, as sqlarchive.Dump writes it.
type header struct {
	Archive struct {
		Name          string      `json:"name"`
		FuncVersion   string      `json:"func_version"`
		Codec         codec.Codec `json:"codec"`
		Keymap        string      `json:"keymap"`
		KeymapVersion int         `json:"keymap_version"`
		TTLNanos      int64       `json:"ttl_ns"`
	} `json:"archive"`
}

// renamed returns the export of an archive with its header changed to name
// another archive, as an export of the archive name imported from it
// starts.
func renamed(t *testing.T, export, name string) string {
	t.Helper()
	first, rest, _ := strings.Cut(export, "\n")
	h := decode[header](t, first)
	_, version, err := sqlarchive.TableName(name)
	if err != nil {
		t.Fatal(err)
	}
	h.Archive.Name, h.Archive.FuncVersion = name, version
	var b strings.Builder
	if err := writeJSON(&b, h); err != nil {
		t.Fatal(err)
	}
	return b.String() + rest
}

// sameExports fails unless got and want hold the same files.
func sameExports(t *testing.T, got, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if g := got[name]; g != w {
			gl, wl := strings.Split(g, "\n"), strings.Split(w, "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("export of %s differs at line %d:\n got %s\nwant %s", name, i+1, gl[i], wl[i])
				}
			}
			t.Fatalf("export of %s has %d lines, want %d", name, len(gl), len(wl))
		}
	}
}

// Export, import into another archive and into another database, and
// export again: identical files, on every database.
func TestExportImport(t *testing.T) {
	eachPopulated(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		first := exportAll(t, dsn, filepath.Join(dir, "first"))

		// The file holds what was written, after a header with the
		// archive's settings.
		lines := strings.Split(strings.TrimSuffix(first["fib"], "\n"), "\n")
		if len(lines) != 1101 {
			t.Fatalf("export of fib has %d lines", len(lines))
		}
		for name, want := range map[string]string{
			"fib":     `{"archive":{"name":"fib","func_version":"","codec":"json","keymap":"string","keymap_version":1,"ttl_ns":0}}`,
			"docs@v2": `{"archive":{"name":"docs@v2","func_version":"v2","codec":"json","keymap":"string","keymap_version":1,"ttl_ns":86400000000000}}`,
			"blobs":   `{"archive":{"name":"blobs","func_version":"","codec":"raw","keymap":"string","keymap_version":1,"ttl_ns":0}}`,
			"points":  `{"archive":{"name":"points","func_version":"","codec":"gob","keymap":"string","keymap_version":1,"ttl_ns":0}}`,
		} {
			if got, _, _ := strings.Cut(first[name], "\n"); got != want {
				t.Errorf("header of %s = %s, want %s", name, got, want)
			}
		}
		var found bool
		for _, line := range lines {
			if strings.HasPrefix(line, `{"key":"(N=10)","args":{"N":10},"value":100,"created_at":"`) &&
				strings.HasSuffix(line, `Z","expires_at":null}`) {
				found = true
			}
		}
		if !found {
			t.Errorf("no line for (N=10) with its arguments in\n%s", strings.Join(lines[:3], "\n"))
		}
		for _, want := range []string{
			`"value":{"alpha":["<&>","ünï",null,true],"mid":{"a":-1e-7,"b":2.5},"zeta":1}`,
			`"value":"a string\nwith a newline"`,
		} {
			if !strings.Contains(first["docs@v2"], want) {
				t.Errorf("export of docs@v2 does not hold %s:\n%s", want, first["docs@v2"])
			}
		}
		if strings.Contains(first["docs@v2"], `"expires_at":null`) {
			t.Errorf("entries of docs@v2 should expire:\n%s", first["docs@v2"])
		}
		for _, want := range []string{`{"key":"base64:/wBiaW5hcnkga2V5","args":null,"value_base64":"AAH+/w==",`, `"value_base64":"",`} {
			if !strings.Contains(first["blobs"], want) {
				t.Errorf("export of blobs does not hold %s:\n%s", want, first["blobs"])
			}
		}

		// Into other archives of the same database, then into SQLite.
		for _, name := range testArchives {
			info := decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", dsn))
			var codec string
			for _, a := range info {
				if a.Name == name {
					codec = a.Codec
				}
			}
			copyName := "copy_" + strings.ReplaceAll(name, "@", "_")
			out := ok(t, "import", copyName, "-codec", codec, "-i", filepath.Join(dir, "first", name+".jsonl"), "-db", dsn)
			if want := fmt.Sprintf("imported %d ", strings.Count(first[name], "\n")-1); !strings.HasPrefix(out, want) {
				t.Errorf("import = %q, want %q…", out, want)
			}
			again := filepath.Join(dir, copyName+".jsonl")
			ok(t, "export", copyName, "-o", again, "-db", dsn)
			b, err := os.ReadFile(again)
			if err != nil {
				t.Fatal(err)
			}
			sameExports(t, map[string]string{name: string(b)}, map[string]string{name: renamed(t, first[name], copyName)})
		}
		other := "sqlite:" + filepath.Join(dir, "other.db")
		for _, name := range testArchives {
			info := decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", dsn))
			args := []string{"import", name, "-db", other}
			for _, a := range info {
				if a.Name == name {
					args = append(args, "-codec", a.Codec, "-ttl", fmt.Sprint(time.Duration(a.TTLSeconds*float64(time.Second))))
				}
			}
			okIn(t, first[name], args...)
		}
		sameExports(t, exportAll(t, other, filepath.Join(dir, "other")), first)

		// Gob values still decode, for the Go program that wrote them.
		db, err := sql.Open("sqlite3", dialect.SQLiteDSN(filepath.Join(dir, "other.db")))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		a, err := sqlarchive.Open(t.Context(), db, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		pts, err := sqlarchive.Table[point](t.Context(), a, "points", nil)
		if err != nil {
			t.Fatal(err)
		}
		if p, found, err := pts.Get(t.Context(), keymap.NewKey("(2)")); err != nil || !found || p != (point{2, -1.5, "p"}) {
			t.Errorf("imported gob value = %v, %v, %v", p, found, err)
		}
	})
}

// eachPopulated runs fn for each database, populated.
func eachPopulated(t *testing.T, fn func(t *testing.T, dsn string)) {
	for i, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			fresh := sqltest.Fresh(t, d)
			populate(t, fresh.DB, d, testNow())
			fn(t, dsnOf(t, fresh, i%2 == 0))
		})
	}
}

// A malformed line, named by its number, imports nothing, into a new
// archive (which is not left behind) or an existing one.
func TestImportMalformed(t *testing.T) {
	good := func(i int) string {
		return fmt.Sprintf(`{"key":"(n=%d)","args":{"n":%d},"value":%d,"created_at":"2026-11-27T08:00:00Z","updated_at":"2026-11-27T08:00:00Z","expires_at":null}`, i, i, i)
	}
	var many strings.Builder
	for i := range 2500 { // several batches: one transaction
		many.WriteString(good(i) + "\n")
	}
	tests := []struct {
		name, input, want string
	}{
		{"syntax", good(1) + "\n" + good(2) + "\n{\"key\":\"(n=3)\",\n", "line 3: unexpected EOF"},
		{"not an object", good(1) + "\n[1, 2]\n", "line 2: want a JSON object"},
		{"unknown field", `{"key":"k","value":1,"vaule":2}`, `line 1: json: unknown field "vaule"`},
		{"no key", good(1) + "\n\n" + `{"value":1}`, `line 3: no "key"`},
		{"no value", `{"key":"k"}`, `line 1: no "value"`},
		{"bytes for json", `{"key":"k","value_base64":"AA=="}`, `line 1: "value_base64" holds the bytes of codecs raw and gob`},
		{"bad time", `{"key":"k","value":1,"created_at":"yesterday"}`, `line 1: parsing time "yesterday"`},
		{"two values", good(1) + " " + good(2), "line 1: more than one JSON value on the line"},
		{"bad key", `{"key":"base64:!!","value":1}`, `line 1: sqltable: invalid key text "base64:!!"`},
		{"last of many", many.String() + "nonsense\n", "line 2501: want a JSON object"},
	}
	eachDB(t, func(t *testing.T, dsn string) {
		ok(t, "create", "fib", "-db", dsn)
		ok(t, "put", "fib", "(n=1)", `"kept"`, "-db", dsn)
		ok(t, "create", "blobs", "-codec", "raw", "-db", dsn)
		before := ok(t, "export", "fib", "-db", dsn)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				failsIn(t, tc.input, exitFailure, []string{"stdin " + tc.want, "nothing imported"}, "import", "fib", "-db", dsn)
				if got := ok(t, "export", "fib", "-db", dsn); got != before {
					t.Fatalf("a failed import changed the archive:\n%s", got)
				}
				failsIn(t, tc.input, exitFailure, []string{tc.want}, "import", "fresh", "-db", dsn)
				if got := names(t, dsn); !reflect.DeepEqual(got, []string{"blobs", "fib"}) {
					t.Fatalf("a failed import left archives %q", got)
				}
			})
		}
		failsIn(t, `{"key":"k","value":"text"}`, exitFailure, []string{`line 1: "value" holds JSON, and the archive stores raw: want "value_base64"`}, "import", "blobs", "-db", dsn)
		failsIn(t, `{"key":"k","value_base64":"%%"}`, exitFailure, []string{`line 1: "value_base64": illegal base64 data`}, "import", "blobs", "-db", dsn)
		file := filepath.Join(t.TempDir(), "bad.jsonl")
		if err := os.WriteFile(file, []byte(good(1)+"\nnonsense\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		fails(t, exitFailure, []string{file + " line 2: want a JSON object"}, "import", "fib", "-i", file, "-db", dsn)
		fails(t, exitFailure, []string{"no such file"}, "import", "fib", "-i", file+".missing", "-db", dsn)
	})
}

// export -o writes the file whole or not at all.
func TestExportFile(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	ok(t, "create", "fib", "-db", dsn)
	ok(t, "put", "fib", "k", "1", "-raw", "-db", dsn)
	dir := t.TempDir()
	file := filepath.Join(dir, "fib.jsonl")
	if err := os.WriteFile(file, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, "export", "fib", "-o", file, "-db", dsn)
	b, err := os.ReadFile(file)
	if err != nil || !strings.HasPrefix(string(b), `{"archive":{"name":"fib",`) || !strings.Contains(string(b), "}}\n"+`{"key":"k","args":null,"value":1,`) {
		t.Fatalf("exported %q, %v", b, err)
	}
	fails(t, exitFailure, []string{"no archive"}, "export", "nope", "-o", file, "-db", dsn)
	if b2, _ := os.ReadFile(file); string(b2) != string(b) {
		t.Fatal("a failed export changed the file")
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("files left: %v, %v", entries, err)
	}
}

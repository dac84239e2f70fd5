package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// The header of an export gives import the archive's settings: the
// restored archive opens in the program that wrote it, with its keymap.
func TestImportHeader(t *testing.T) {
	km, err := keymap.NewHash(keymap.SHA256, nil)
	if err != nil {
		t.Fatal(err)
	}
	kmJSON, err := json.Marshal(km.String())
	if err != nil {
		t.Fatal(err)
	}
	head := `{"archive":{"name":"hashed@v3","func_version":"v3","codec":"raw","keymap":` + string(kmJSON) +
		`,"keymap_version":1,"ttl_ns":3600000000000}}` + "\n"
	// In the order of their key hashes, as export writes them.
	entries := `{"key":"k2","args":{"n":2},"value_base64":"","created_at":"2026-11-27T08:00:00Z","updated_at":"2026-11-27T09:00:00Z","expires_at":"2126-11-27T09:00:00Z"}` + "\n" +
		`{"key":"k1","args":null,"value_base64":"AAE=","created_at":"2026-11-27T08:00:00Z","updated_at":"2026-11-27T08:00:00Z","expires_at":"2126-11-27T08:00:00Z"}` + "\n"
	file := head + entries
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			fresh := sqltest.Fresh(t, d)
			dsn := dsnOf(t, fresh, false)
			for range 2 { // the second time, into the archive the first made
				if out := okIn(t, file, "import", "hashed@v3", "-db", dsn); out != "imported 2 entries into hashed@v3\n" {
					t.Fatalf("import = %q", out)
				}
			}
			if got := ok(t, "export", "hashed@v3", "-db", dsn); got != file {
				t.Errorf("export after import =\n%s\nwant\n%s", got, file)
			}
			a, err := sqlarchive.Open(t.Context(), fresh.DB, &sqlarchive.Options{Dialect: d})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if _, err := sqlarchive.Table[[]byte](t.Context(), a, "hashed@v3", &sqlarchive.TableOptions{Keymap: km}); err != nil {
				t.Errorf("the program cannot open the imported archive: %v", err)
			}

			// Another name takes the header's settings, not its name.
			okIn(t, head, "import", "other", "-codec", "raw", "-ttl", "1h", "-db", dsn)
			if got := ok(t, "export", "other", "-db", dsn); got != renamed(t, head, "other") {
				t.Errorf("export of an archive imported from a header alone = %s", got)
			}

			// Flags and archives that contradict the header.
			failsIn(t, file, exitFailure, []string{"-codec json contradicts the header of stdin, which gives codec raw"},
				"import", "new", "-codec", "json", "-db", dsn)
			failsIn(t, file, exitFailure, []string{"-ttl 2h0m0s contradicts the header of stdin, which gives TTL 1h0m0s"},
				"import", "new", "-ttl", "2h", "-db", dsn)
			ok(t, "create", "plain", "-codec", "raw", "-ttl", "1h", "-db", dsn)
			failsIn(t, file, exitFailure, []string{`table "plain" is stored with keymap "string", opened with ` + string(kmJSON)},
				"import", "plain", "-db", dsn)
			gob := strings.Replace(file, `"codec":"raw"`, `"codec":"gob"`, 1)
			failsIn(t, gob, exitFailure, []string{`table "hashed@v3" is stored with codec raw, opened with gob`},
				"import", "hashed@v3", "-db", dsn)

			// Malformed headers.
			for _, tc := range []struct{ header, want string }{
				{`{"archive":{"codec":"json","keymap_version":1}}`, `stdin line 1: header: no "keymap"`},
				{`{"archive":{"codec":"json","keymap":"string"}}`, `stdin line 1: header: no "keymap_version"`},
				{`{"archive":{"keymap":"string","keymap_version":1}}`, `stdin line 1: header: no "codec"`},
				{`{"archive":{"codec":"xml","keymap":"string","keymap_version":1}}`, `stdin line 1: header: `},
				{`{"archive":{"codec":"json","keymap":"string","keymap_version":1,"ttl_ns":-1}}`, `stdin line 1: header: negative "ttl_ns" -1`},
				{`{"archive":{"codec":"json","keymap":"string","keymap_version":1},"key":"k"}`, `stdin line 1: header: json: unknown field "key"`},
				{`{"archive":{"codec":"json","keymap":"string","keymap_version":1,"policy":"lru"}}`, `stdin line 1: header: json: unknown field "policy"`},
				{"\n" + head, `stdin line 2: json: unknown field "archive"`}, // a header is the first line
			} {
				failsIn(t, tc.header+"\n"+entries, exitFailure, []string{tc.want, "nothing imported"}, "import", "new", "-db", dsn)
			}
			if got := names(t, dsn); !reflect.DeepEqual(got, []string{"hashed@v3", "other", "plain"}) {
				t.Errorf("archives after failed imports: %q", got)
			}
		})
	}
}

// An import that fails after creating its archive leaves it, empty, in
// place: other programs may have written into it meanwhile.
func TestImportFailureKeepsArchive(t *testing.T) {
	dsn := freshDSN(t, dialect.Postgres, false)
	// JSONB cannot hold U+0000: the database refuses the entry, once the
	// archive exists.
	failsIn(t, `{"key":"k","value":"\u0000"}`, exitFailure,
		[]string{"U+0000", "nothing imported; the archive, created for the import, is left in place"},
		"import", "fresh", "-db", dsn)
	if got := names(t, dsn); !reflect.DeepEqual(got, []string{"fresh"}) {
		t.Fatalf("archives after the failed import: %q", got)
	}
	ok(t, "put", "fresh", "k", "1", "-raw", "-db", dsn)
	failsIn(t, `{"key":"k","value":"\u0000"}`, exitFailure, []string{"nothing imported"}, "import", "fresh", "-db", dsn)
	if got := ok(t, "get", "fresh", "k", "-db", dsn); got != "1\n" {
		t.Fatalf("get after the failed import = %q", got)
	}
}

// blockingReader cancels a context when read, and waits until the test
// ends, as a terminal nobody types at.
type blockingReader struct {
	cancel  context.CancelFunc
	release chan struct{}
}

func (r *blockingReader) Read([]byte) (int, error) {
	r.cancel()
	<-r.release
	return 0, io.EOF
}

// A signal stops an import waiting for input, which imports nothing.
func TestImportInterrupted(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	ok(t, "create", "other", "-db", dsn)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	in := &blockingReader{cancel, make(chan struct{})}
	defer close(in.release)
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"import", "fib", "-db", dsn}, in, &stdout, &stderr)
	if code != exitFailure || !strings.Contains(stderr.String(), "import of fib interrupted: context canceled; nothing imported") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if got := names(t, dsn); !reflect.DeepEqual(got, []string{"other"}) {
		t.Fatalf("archives after the interrupted import: %q", got)
	}
}

// lockProbe is input that, whenever it is read, checks that another
// connection can take SQLite's write lock at once.
type lockProbe struct {
	db   *sql.DB
	r    io.Reader
	errs []error
}

func (p *lockProbe) Read(b []byte) (int, error) {
	tx, err := p.db.BeginTx(context.Background(), nil) // BEGIN IMMEDIATE, without waiting
	if err == nil {
		err = tx.Rollback()
	}
	p.errs = append(p.errs, err)
	return p.r.Read(b)
}

// Import holds no write lock on SQLite while it waits for input.
func TestImportReadsBeforeLocking(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	dsn := "sqlite:" + path
	ok(t, "create", "fib", "-db", dsn)
	db, err := sql.Open("sqlite3", strings.Replace(dialect.SQLiteDSN(path), "_busy_timeout=100", "_busy_timeout=0", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var lines strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&lines, `{"key":"(n=%d)","value":%d}`+"\n", i, i)
	}
	probe := &lockProbe{db: db, r: strings.NewReader(lines.String())}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"import", "fib", "-db", dsn}, probe, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if len(probe.errs) < 2 {
		t.Fatalf("input read %d times", len(probe.errs))
	}
	if err := errors.Join(probe.errs...); err != nil {
		t.Fatalf("the write lock was held while reading input: %v", err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM fib").Scan(&n); err != nil || n != 3000 {
		t.Fatalf("the probe's database holds %d entries, %v", n, err)
	}
}

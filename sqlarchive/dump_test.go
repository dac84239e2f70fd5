package sqlarchive_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// dump returns the dump of the archive called name, and how many entries
// it holds.
func dump(t *testing.T, a *sqlarchive.Archive, name string) (string, int) {
	t.Helper()
	var b bytes.Buffer
	res, err := sqlarchive.Dump(t.Context(), a, name, &b, nil)
	if err != nil {
		t.Fatalf("Dump(%q): %v", name, err)
	}
	return b.String(), res.Entries
}

// withoutHeader returns a dump without its first line.
func withoutHeader(dump string) string {
	_, rest, _ := strings.Cut(dump, "\n")
	return rest
}

// Dump, Load into another archive and into another database, and Dump
// again: the same entries, on every database.
func TestDumpLoadRoundTrip(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		clk := newClock()
		a := open(t, db, d, clk.options())
		ttl := time.Hour
		docs := table[map[string]any](t, a, "docs@v2", &sqlarchive.TableOptions{TTL: &ttl})
		put(t, docs, "a", map[string]any{"n": 2.5, "s": "<&>é", "list": []any{1.0, nil}})
		put(t, docs, "b", map[string]any{})
		raw := codec.Raw
		blobs := table[[]byte](t, a, "blobs", &sqlarchive.TableOptions{Codec: &raw})
		put(t, blobs, "x", []byte{0, 1, 2})
		put(t, blobs, "y", []byte{})

		for _, name := range []string{"docs@v2", "blobs"} {
			first, n := dump(t, a, name)
			if n != 2 || strings.Count(first, "\n") != 3 {
				t.Fatalf("Dump(%q) = %d entries:\n%s", name, n, first)
			}
			// Into another archive of the same database, and into SQLite.
			targets := []*sqlarchive.Archive{a, open(t, sqltest.SQLite(t), dialect.SQLite, clk.options())}
			for _, b := range targets {
				n, err := sqlarchive.Load(ctx, b, "restored_"+strings.ReplaceAll(name, "@", "_"), strings.NewReader(first), nil)
				if err != nil || n != 2 {
					t.Fatalf("Load = %d, %v", n, err)
				}
				second, _ := dump(t, b, "restored_"+strings.ReplaceAll(name, "@", "_"))
				if withoutHeader(second) != withoutHeader(first) {
					t.Errorf("dump after a round trip:\n%s\nwant\n%s", second, first)
				}
				info, err := b.Info(ctx, "restored_"+strings.ReplaceAll(name, "@", "_"))
				src, _ := a.Info(ctx, name)
				if err != nil || info.Codec != src.Codec || info.TTL != src.TTL || info.Keymap != src.Keymap {
					t.Errorf("restored archive %+v, %v; want the settings of %+v", info, err, src)
				}
			}
			// Loading again overwrites: the same entries, not twice as many.
			if n, err := sqlarchive.Load(ctx, a, name, strings.NewReader(first), nil); err != nil || n != 2 {
				t.Fatalf("Load into the source = %d, %v", n, err)
			}
			if again, _ := dump(t, a, name); again != first {
				t.Errorf("dump after loading into the source:\n%s\nwant\n%s", again, first)
			}
		}
	})
}

// Every line is checked before anything is written, and errors name the
// line.
func TestLoadMalformed(t *testing.T) {
	good := func(i int) string { return fmt.Sprintf(`{"key":"(n=%d)","value":%d}`, i, i) }
	tests := []struct {
		name, input, want string
	}{
		{"syntax", good(1) + "\n" + good(2) + "\n{\"key\":\"(n=3)\",\n", "input line 3: unexpected EOF"},
		{"not an object", good(1) + "\n[1, 2]\n", "input line 2: want a JSON object"},
		{"unknown field", `{"key":"k","value":1,"vaule":2}`, `input line 1: json: unknown field "vaule"`},
		{"no key", good(1) + "\n\n" + `{"value":1}`, `input line 3: no "key"`},
		{"no value", `{"key":"k"}`, `input line 1: no "value"`},
		{"bytes for json", `{"key":"k","value_base64":"AA=="}`, `input line 1: "value_base64" holds the bytes`},
		{"bad time", `{"key":"k","value":1,"created_at":"yesterday"}`, `input line 1: parsing time "yesterday"`},
		{"two values", good(1) + " " + good(2), "input line 1: more than one JSON value on the line"},
		{"bad key", `{"key":"base64:!!","value":1}`, `input line 1: sqltable: invalid key text "base64:!!"`},
		{"header later", good(1) + "\n" + `{"archive":{"codec":"json","keymap":"string","keymap_version":1}}`, `input line 2: json: unknown field "archive"`},
		{"header without codec", `{"archive":{"keymap":"string","keymap_version":1}}`, `input line 1: header: no "codec"`},
		{"negative ttl", `{"archive":{"codec":"json","keymap":"string","keymap_version":1,"ttl_ns":-1}}`, `input line 1: header: negative "ttl_ns" -1`},
		{"unknown evict", `{"archive":{"codec":"json","keymap":"string","keymap_version":1,"evict":"mru"}}`, `input line 1: header: "evict": unknown eviction order "mru"`},
		{"small bound", `{"archive":{"codec":"json","keymap":"string","keymap_version":1,"max_entries":3}}`, `input line 1: header: MaxEntries 3 is smaller than one eviction batch (10 entries)`},
	}
	a := open(t, sqltest.SQLite(t), dialect.SQLite, nil)
	fib := table[int](t, a, "fib", nil)
	put(t, fib, "(n=1)", 7)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range []string{"fib", "fresh"} {
				n, err := sqlarchive.Load(t.Context(), a, name, strings.NewReader(tc.input), nil)
				if err == nil || n != 0 || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Load(%q) = %d, %v; want an error with %q", name, n, err, tc.want)
				}
			}
			if v, _ := get(t, fib, "(n=1)"); v != 7 {
				t.Errorf("after a failed Load, fib (n=1) = %d, want 7", v)
			}
			if _, err := a.Info(t.Context(), "fresh"); !errors.Is(err, sqlarchive.ErrNotFound) {
				t.Errorf("after a failed Load, Info(fresh) = %v, want ErrNotFound", err)
			}
		})
	}
}

// An archive that exists must have the settings of the header, and
// LoadOptions must agree with it.
func TestLoadHeaderMismatch(t *testing.T) {
	ctx := t.Context()
	a := open(t, sqltest.SQLite(t), dialect.SQLite, nil)
	raw := codec.Raw
	blobs := table[[]byte](t, a, "blobs", &sqlarchive.TableOptions{Codec: &raw})
	put(t, blobs, "x", []byte("x"))
	file, _ := dump(t, a, "blobs")

	fib := table[int](t, a, "fib", nil)
	put(t, fib, "k", 1)
	var mismatch *sqlarchive.MismatchError
	if _, err := sqlarchive.Load(ctx, a, "fib", strings.NewReader(file), nil); !errors.As(err, &mismatch) || mismatch.Field != "codec" {
		t.Errorf("Load of a raw dump into a json archive: %v, want a *MismatchError for the codec", err)
	}
	jsonCodec, hour := codec.JSON, time.Hour
	for _, opts := range []*sqlarchive.LoadOptions{{Codec: &jsonCodec, Source: "blobs.jsonl"}, {TTL: &hour, Source: "blobs.jsonl"}} {
		var he *sqlarchive.HeaderError
		_, err := sqlarchive.Load(ctx, a, "other", strings.NewReader(file), opts)
		if !errors.As(err, &he) || he.Source != "blobs.jsonl" {
			t.Errorf("Load with %+v: %v, want a *HeaderError", opts, err)
		}
	}
	if _, err := a.Info(ctx, "other"); !errors.Is(err, sqlarchive.ErrNotFound) {
		t.Errorf("Info(other) = %v, want ErrNotFound", err)
	}
	if v, _ := get(t, fib, "k"); v != 1 {
		t.Errorf("fib k = %d, want 1", v)
	}
	// Without a header, LoadOptions give the new archive's settings, and
	// Progress sees every line.
	read := 0
	input := `{"key":"a","value_base64":"AAE="}` + "\n\n" + `{"key":"b","value_base64":""}` + "\n"
	n, err := sqlarchive.Load(ctx, a, "plain", strings.NewReader(input),
		&sqlarchive.LoadOptions{Codec: &raw, TTL: &hour, Progress: func(n int) { read += n }})
	if err != nil || n != 2 || read != len(input) {
		t.Fatalf("Load without a header = %d, %v; Progress saw %d bytes, want %d", n, err, read, len(input))
	}
	if info, err := a.Info(ctx, "plain"); err != nil || info.Codec != codec.Raw || info.TTL != time.Hour {
		t.Errorf("Info(plain) = %+v, %v; want codec raw, TTL 1h", info, err)
	}
}

// A dump carries the archive's bounds: Load creates an archive with them,
// and leaves those of an archive that exists alone.
func TestDumpLoadBounds(t *testing.T) {
	ctx := t.Context()
	a := open(t, sqltest.SQLite(t), dialect.SQLite, nil)
	maxEntries, maxBytes, lfu := int64(100), int64(10000), sqltable.EvictLFU
	fib := table[int](t, a, "fib", &sqlarchive.TableOptions{MaxEntries: &maxEntries, MaxBytes: &maxBytes, Evict: &lfu})
	put(t, fib, "k", 1)
	file, _ := dump(t, a, "fib")
	if header, _, _ := strings.Cut(file, "\n"); !strings.Contains(header, `"max_entries":100,"max_bytes":10000,"evict":"lfu"`) {
		t.Errorf("header of a bounded archive: %s", header)
	}
	want := sqltable.Bounds{MaxEntries: 100, MaxBytes: 10000, Evict: sqltable.EvictLFU}
	b := open(t, sqltest.SQLite(t), dialect.SQLite, nil)
	if _, err := sqlarchive.Load(ctx, b, "fib", strings.NewReader(file), nil); err != nil {
		t.Fatal(err)
	}
	if info, err := b.Info(ctx, "fib"); err != nil || info.Bounds != want {
		t.Errorf("loaded archive's bounds = %+v, %v; want %+v", info.Bounds, err, want)
	}
	plain := table[int](t, a, "plain", nil)
	put(t, plain, "k", 2)
	if _, err := sqlarchive.Load(ctx, a, "plain", strings.NewReader(strings.Replace(file, `"name":"fib"`, `"name":"plain"`, 1)), nil); err != nil {
		t.Fatal(err)
	}
	if info, err := a.Info(ctx, "plain"); err != nil || info.Bounds.Bounded() {
		t.Errorf("an existing archive's bounds after Load = %+v, %v; want none, as before", info.Bounds, err)
	}
	if unbounded, _ := dump(t, a, "plain"); strings.Contains(unbounded, "max_entries") || strings.Contains(unbounded, "evict") {
		t.Errorf("header of an unbounded archive names bounds: %s", unbounded)
	}
}

func TestDumpNotFound(t *testing.T) {
	a := open(t, sqltest.SQLite(t), dialect.SQLite, nil)
	var b bytes.Buffer
	if _, err := sqlarchive.Dump(t.Context(), a, "nope", &b, nil); !errors.Is(err, sqlarchive.ErrNotFound) || b.Len() != 0 {
		t.Errorf("Dump of a missing archive: %v, wrote %q; want ErrNotFound and nothing", err, b.String())
	}
}

func ExampleDump() {
	db, cleanup := openSQLite()
	defer cleanup()
	ctx := context.Background()

	clock := func() time.Time { return time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC) }
	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Clock: clock})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()

	fib, err := sqlarchive.Table[int](ctx, a, "fib", nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := fib.Put(ctx, keymap.NewKey("(n=10)"), 55); err != nil {
		log.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := sqlarchive.Dump(ctx, a, "fib", &b, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Print(b.String())

	// Load reads it back, here into another archive.
	n, err := sqlarchive.Load(ctx, a, "fib_copy", &b, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("loaded", n)
	// Output:
	// {"archive":{"name":"fib","func_version":"","codec":"json","keymap":"string","keymap_version":1,"ttl_ns":0}}
	// {"key":"(n=10)","args":null,"value":55,"created_at":"2026-11-27T08:00:00Z","updated_at":"2026-11-27T08:00:00Z","expires_at":null}
	// loaded 1
}

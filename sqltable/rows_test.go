package sqltable_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// rowsT0 is the start of the clocks of the tests of Rows and PutRows: whole
// milliseconds, which every database stores exactly.
var rowsT0 = time.Date(2026, 11, 27, 6, 25, 59, 37_000_000, time.UTC)

// rowsTableCount makes the table names of these tests unique.
var rowsTableCount atomic.Int64

// rowsOpen opens a new table called rowsN in db, closed when the test ends.
func rowsOpen[V any](t *testing.T, db sqltable.Querier, d *dialect.Dialect, opts sqltable.Options) *sqltable.Table[V] {
	t.Helper()
	opts.Dialect = d
	tbl, err := sqltable.Open[V](t.Context(), db, fmt.Sprintf("rows%d", rowsTableCount.Add(1)), &opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = tbl.Close() })
	return tbl
}

// rowsOf collects the rows of tbl.
func rowsOf[V any](t *testing.T, tbl *sqltable.Table[V]) []sqltable.Row[V] {
	t.Helper()
	var rows []sqltable.Row[V]
	for r, err := range tbl.Rows(t.Context()) {
		if err != nil {
			t.Fatalf("Rows: %v", err)
		}
		rows = append(rows, r)
	}
	return rows
}

// rowsAt returns a clock stopped at tm.
func rowsAt(tm time.Time) func() time.Time { return func() time.Time { return tm } }

// rowsWant checks that got and want hold the same rows, timestamps compared
// as instants.
func rowsWant[V any](t *testing.T, got, want []sqltable.Row[V]) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Key != w.Key || string(g.Args) != string(w.Args) || !reflect.DeepEqual(g.Value, w.Value) ||
			!g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) || !g.ExpiresAt.Equal(w.ExpiresAt) {
			t.Fatalf("row %d = %+v,\nwant %+v", i, g, w)
		}
	}
}

type rowsValue struct {
	N int
	S string
}

// Rows yields what was written, with arguments and timestamps, and PutRows
// of those rows into another table, of the same database or another,
// makes a table whose rows are the same.
func TestRowsRoundTrip(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		for _, vc := range []codec.Codec{codec.JSON, codec.Gob} {
			t.Run(vc.String(), func(t *testing.T) {
				src := rowsOpen[rowsValue](t, db, d, sqltable.Options{Codec: vc, Clock: rowsAt(rowsT0)})
				var entries []cache.Entry[rowsValue]
				for i := range 1234 { // more than two pages
					entries = append(entries, cache.Entry[rowsValue]{Key: keymap.NewKey(fmt.Sprintf("(n=%d)", i)), Value: rowsValue{i, "<&>"}})
				}
				if err := src.PutMany(ctx, entries); err != nil {
					t.Fatal(err)
				}
				later, err := sqltable.Open[rowsValue](ctx, db, src.Name(), &sqltable.Options{Dialect: d, Codec: vc,
					TTL: time.Hour, Clock: rowsAt(rowsT0.Add(time.Minute))})
				if err != nil {
					t.Fatal(err)
				}
				defer later.Close()
				if err := later.PutArgs(ctx, keymap.NewKey("\xff\x00binary"), []any{1, "a"}, rowsValue{-1, "args"}); err != nil {
					t.Fatal(err)
				}
				if err := later.Put(ctx, keymap.NewKey("(n=7)"), rowsValue{7, "again"}); err != nil {
					t.Fatal(err)
				}
				expired, err := sqltable.Open[rowsValue](ctx, db, src.Name(), &sqltable.Options{Dialect: d, Codec: vc,
					TTL: time.Second, Clock: rowsAt(rowsT0.Add(-time.Hour))})
				if err != nil {
					t.Fatal(err)
				}
				defer expired.Close()
				if err := expired.Put(ctx, keymap.NewKey("expired"), rowsValue{}); err != nil {
					t.Fatal(err)
				}

				rows := rowsOf(t, src)
				if len(rows) != len(entries)+1 {
					t.Fatalf("Rows yielded %d rows, want %d: not the expired one", len(rows), len(entries)+1)
				}
				for i := 1; i < len(rows); i++ {
					if string(rows[i-1].Key.Hash[:]) >= string(rows[i].Key.Hash[:]) {
						t.Fatalf("rows %d and %d are not in key hash order", i-1, i)
					}
				}
				byKey := make(map[string]sqltable.Row[rowsValue])
				for _, r := range rows {
					byKey[r.Key.Text] = r
				}
				if got := byKey["\xff\x00binary"]; !jsonEqual(t, got.Args, `[[1,"a"]]`) || !got.CreatedAt.Equal(rowsT0.Add(time.Minute)) ||
					!got.ExpiresAt.Equal(rowsT0.Add(time.Minute+time.Hour)) || got.Value != (rowsValue{-1, "args"}) {
					t.Fatalf("the row of the binary key is %+v", got)
				}
				if got := byKey["(n=7)"]; !got.CreatedAt.Equal(rowsT0) || !got.UpdatedAt.Equal(rowsT0.Add(time.Minute)) || got.Args != nil {
					t.Fatalf("the row of a key written twice is %+v", got)
				}
				if got := byKey["(n=1)"]; !got.CreatedAt.Equal(rowsT0) || !got.ExpiresAt.IsZero() || got.Value != (rowsValue{1, "<&>"}) {
					t.Fatalf("the row of (n=1) is %+v", got)
				}

				dsts := map[string]*sqltable.Table[rowsValue]{
					"same database": rowsOpen[rowsValue](t, db, d, sqltable.Options{Codec: vc, Clock: rowsAt(rowsT0)}),
					"sqlite":        rowsOpen[rowsValue](t, sqltest.SQLite(t), dialect.SQLite, sqltable.Options{Codec: vc, Clock: rowsAt(rowsT0)}),
				}
				for name, dst := range dsts {
					for range 2 { // idempotent
						if err := dst.PutRows(ctx, rows); err != nil {
							t.Fatalf("%s: PutRows: %v", name, err)
						}
					}
					got := rowsOf(t, dst)
					for i := range got { // JSON may come back normalized
						if !jsonEqual(t, got[i].Args, string(rows[i].Args)) {
							t.Fatalf("%s: args of row %d = %s, want %s", name, i, got[i].Args, rows[i].Args)
						}
						got[i].Args = rows[i].Args
					}
					rowsWant(t, got, rows)
				}
			})
		}
	})
}

// jsonEqual reports whether got and want are the same JSON value, or both
// absent.
func jsonEqual(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	if got == nil || want == "" {
		return got == nil && want == ""
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// json.RawMessage values and raw bytes go through Rows and PutRows as they
// are.
func TestRowsRawValues(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		js := rowsOpen[json.RawMessage](t, db, d, sqltable.Options{})
		in := []sqltable.Row[json.RawMessage]{
			{Key: keymap.NewKey("a"), Value: json.RawMessage(`{"b":[1,2.5,"<&>"]}`)},
			{Key: keymap.NewKey("b"), Value: json.RawMessage(`"é\u2028"`)},
			{Key: keymap.NewKey("c"), Value: json.RawMessage(`null`)},
		}
		if err := js.PutRows(t.Context(), in); err != nil {
			t.Fatal(err)
		}
		for _, r := range in {
			got, found, err := js.Get(t.Context(), r.Key)
			if err != nil || !found || !jsonEqual(t, got, string(r.Value)) {
				t.Fatalf("Get(%q) = %s, %v, %v; want %s", r.Key.Text, got, found, err, r.Value)
			}
		}
		raw := rowsOpen[[]byte](t, db, d, sqltable.Options{Codec: codec.Raw})
		bin := []sqltable.Row[[]byte]{{Key: keymap.NewKey("x"), Value: []byte{0, 0xff, '\n'}}, {Key: keymap.NewKey("e"), Value: nil}}
		if err := raw.PutRows(t.Context(), bin); err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		for _, r := range rowsOf(t, raw) {
			got[r.Key.Text] = r.Value
		}
		if !reflect.DeepEqual(got, map[string][]byte{"x": {0, 0xff, '\n'}, "e": {}}) {
			t.Fatalf("raw rows = %q", got)
		}
	})
}

// PutRows fills in zero timestamps, keeps created_at of the keys the table
// holds, and keeps the last of two rows of one key.
func TestPutRowsDefaults(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		tbl := rowsOpen[int](t, db, d, sqltable.Options{TTL: time.Hour, Clock: rowsAt(rowsT0)})
		if err := tbl.Put(ctx, keymap.NewKey("old"), 1); err != nil {
			t.Fatal(err)
		}
		later := rowsT0.Add(time.Hour)
		err := tbl.PutRows(ctx, []sqltable.Row[int]{
			{Key: keymap.NewKey("old"), Value: 2, CreatedAt: later, UpdatedAt: later},
			{Key: keymap.NewKey("new"), Value: 3, Args: json.RawMessage(" null ")},
			{Key: keymap.NewKey("twice"), Value: 4},
			{Key: keymap.NewKey("twice"), Value: 5, Args: json.RawMessage(`{"n":5}`)},
		})
		if err != nil {
			t.Fatal(err)
		}
		got := make(map[string]sqltable.Row[int])
		for _, r := range rowsOf(t, tbl) {
			got[r.Key.Text] = r
		}
		if len(got) != 3 {
			t.Fatalf("rows: %+v", got)
		}
		if r := got["old"]; r.Value != 2 || !r.CreatedAt.Equal(rowsT0) || !r.UpdatedAt.Equal(later) || !r.ExpiresAt.IsZero() {
			t.Errorf("overwritten row = %+v; want created_at kept, updated_at given, no expiry", r)
		}
		if r := got["new"]; r.Value != 3 || r.Args != nil || !r.CreatedAt.Equal(rowsT0) || !r.UpdatedAt.Equal(rowsT0) || !r.ExpiresAt.IsZero() {
			t.Errorf("row with zero times = %+v; want the clock's time, no args, no expiry", r)
		}
		if r := got["twice"]; r.Value != 5 || !jsonEqual(t, r.Args, `{"n":5}`) {
			t.Errorf("row given twice = %+v; want the last", r)
		}
	})
}

// A refused batch stores nothing.
func TestPutRowsRefused(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		tbl := rowsOpen[string](t, db, d, sqltable.Options{MaxValueBytes: 100})
		var rows []sqltable.Row[string]
		for i := range 1500 {
			rows = append(rows, sqltable.Row[string]{Key: keymap.NewKey(fmt.Sprint(i)), Value: "v"})
		}
		bad := append(rows, sqltable.Row[string]{Key: keymap.NewKey("bad"), Value: "v", Args: json.RawMessage(`{"a":`)})
		err := tbl.PutRows(ctx, bad)
		if err == nil || !strings.Contains(err.Error(), `put row "bad": Args is not valid JSON`) {
			t.Fatalf("PutRows with invalid args: %v", err)
		}
		big := append(rows, sqltable.Row[string]{Key: keymap.NewKey("big"), Value: strings.Repeat("x", 200)})
		if err := tbl.PutRows(ctx, big); !errors.Is(err, sqltable.ErrTooLarge) {
			t.Fatalf("PutRows with a big value: %v, want ErrTooLarge", err)
		}
		if n, err := tbl.Len(ctx); err != nil || n != 0 {
			t.Fatalf("Len after refused batches = %d, %v; want 0", n, err)
		}
	})
}

// The body of a loop over Rows may use the pool, even a pool of one
// connection.
func TestRowsBodyUsesPool(t *testing.T) {
	db := sqltest.SQLite(t)
	db.SetMaxOpenConns(1)
	tbl := rowsOpen[int](t, db, dialect.SQLite, sqltable.Options{})
	var entries []cache.Entry[int]
	for i := range 1200 {
		entries = append(entries, cache.Entry[int]{Key: keymap.NewKey(fmt.Sprint(i)), Value: i})
	}
	if err := tbl.PutMany(t.Context(), entries); err != nil {
		t.Fatal(err)
	}
	n := 0
	for r, err := range tbl.Rows(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		if err := tbl.Put(t.Context(), r.Key, r.Value+1); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(entries) {
		t.Fatalf("Rows yielded %d rows, want %d", n, len(entries))
	}
}

// Rows yields the rows before one whose value does not decode, then an
// error naming its key, a *BadRowError; breaking out of the loop early is
// fine.
func TestRowsErrors(t *testing.T) {
	db := sqltest.SQLite(t)
	strs := rowsOpen[string](t, db, dialect.SQLite, sqltable.Options{})
	for _, k := range []string{"a", "b", "c", "d"} {
		if err := strs.Put(t.Context(), keymap.NewKey(k), k); err != nil {
			t.Fatal(err)
		}
	}
	ints, err := sqltable.Open[int](t.Context(), db, strs.Name(), &sqltable.Options{Dialect: dialect.SQLite})
	if err != nil {
		t.Fatal(err)
	}
	if err := ints.Put(t.Context(), keymap.NewKey("b"), 2); err != nil {
		t.Fatal(err)
	}
	var got []string
	var last error
	for r, err := range strs.Rows(t.Context()) {
		if err != nil {
			last = err
			break
		}
		got = append(got, r.Key.Text)
	}
	if _, ok := errors.AsType[*sqltable.BadRowError](last); !ok || !strings.Contains(last.Error(), `bad row, key "b": decode value: `) {
		t.Fatalf("Rows over an undecodable value: %q, then %v", got, last)
	}
	for range strs.Rows(t.Context()) {
		break
	}
	if err := ints.Close(); err != nil {
		t.Fatal(err)
	}
	for _, err := range ints.Rows(t.Context()) {
		if !errors.Is(err, sqltable.ErrClosed) {
			t.Fatalf("Rows after Close: %v, want ErrClosed", err)
		}
	}
	if err := ints.PutRows(t.Context(), []sqltable.Row[int]{{Key: keymap.NewKey("a")}}); !errors.Is(err, sqltable.ErrClosed) {
		t.Fatalf("PutRows after Close: %v, want ErrClosed", err)
	}
	if _, err := ints.DeleteBefore(t.Context(), time.Now()); !errors.Is(err, sqltable.ErrClosed) {
		t.Fatalf("DeleteBefore after Close: %v, want ErrClosed", err)
	}
}

func TestDeleteBefore(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		tbl := rowsOpen[int](t, db, d, sqltable.Options{TTL: time.Minute, Clock: rowsAt(rowsT0)})
		err := tbl.PutRows(ctx, []sqltable.Row[int]{
			{Key: keymap.NewKey("a"), Value: 1, UpdatedAt: rowsT0},
			{Key: keymap.NewKey("b"), Value: 2, UpdatedAt: rowsT0.Add(time.Hour), ExpiresAt: rowsT0}, // expired
			{Key: keymap.NewKey("c"), Value: 3, UpdatedAt: rowsT0.Add(2 * time.Hour)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := tbl.DeleteBefore(ctx, time.Time{}); err != nil || n != 0 {
			t.Fatalf("DeleteBefore(zero) = %d, %v; want 0", n, err)
		}
		if n, err := tbl.DeleteBefore(ctx, rowsT0); err != nil || n != 0 {
			t.Fatalf("DeleteBefore(t0) = %d, %v; want 0: a was written at t0, not before", n, err)
		}
		if n, err := tbl.DeleteBefore(ctx, rowsT0.Add(90*time.Minute)); err != nil || n != 2 {
			t.Fatalf("DeleteBefore(t0+90m) = %d, %v; want 2", n, err)
		}
		var left []string
		for r := range tbl.Rows(ctx) {
			left = append(left, r.Key.Text)
		}
		if !reflect.DeepEqual(left, []string{"c"}) {
			t.Fatalf("left %q, want [c]", left)
		}
	})
}

func ExampleTable_Rows() {
	dir, err := os.MkdirTemp("", "rows")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite3", dialect.SQLiteDSN(filepath.Join(dir, "cache.db")))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	src, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: dialect.SQLite, Clock: func() time.Time { return at }})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	if err := src.PutArgs(ctx, keymap.NewKey("(n=10)"), struct{ N int }{10}, 55); err != nil {
		panic(err)
	}
	// A backup keeps the arguments and timestamps.
	backup, err := sqltable.Open[int](ctx, db, "fib_backup", &sqltable.Options{Dialect: dialect.SQLite})
	if err != nil {
		panic(err)
	}
	defer backup.Close()
	var rows []sqltable.Row[int]
	for r, err := range src.Rows(ctx) {
		if err != nil {
			panic(err)
		}
		rows = append(rows, r)
	}
	if err := backup.PutRows(ctx, rows); err != nil {
		panic(err)
	}
	for r, err := range backup.Rows(ctx) {
		if err != nil {
			panic(err)
		}
		fmt.Println(r.Key, string(r.Args), r.Value, r.CreatedAt.Format(time.RFC3339))
	}
	// Output:
	// (n=10) {"N":10} 55 2026-11-27T08:00:00Z
}

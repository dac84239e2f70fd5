package sqlarchive_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// A *sqltable.Table, as Table returns it, is the memo's archive.
var _ cache.Archive[int] = (*sqltable.Table[int])(nil)

// t0 is the start of the test clocks: whole seconds, so every database
// stores it exactly.
var t0 = time.Date(2026, 11, 27, 6, 25, 59, 0, time.UTC)

// clock is a settable clock for Options.Clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := new(clock)
	c.ns.Store(t0.UnixNano())
	return c
}

func (c *clock) Now() time.Time               { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration)      { c.ns.Add(int64(d)) }
func (c *clock) options() *sqlarchive.Options { return &sqlarchive.Options{Clock: c.Now} }

// open returns an Archive of db, of dialect d, closed when the test ends.
func open(t *testing.T, db *sql.DB, d *dialect.Dialect, opts *sqlarchive.Options) *sqlarchive.Archive {
	t.Helper()
	var o sqlarchive.Options
	if opts != nil {
		o = *opts
	}
	o.Dialect = d
	a, err := sqlarchive.Open(t.Context(), db, &o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return a
}

// table returns the table of the archive called name.
func table[V any](t *testing.T, a *sqlarchive.Archive, name string, opts *sqlarchive.TableOptions) *sqltable.Table[V] {
	t.Helper()
	tbl, err := sqlarchive.Table[V](t.Context(), a, name, opts)
	if err != nil {
		t.Fatalf("Table(%q): %v", name, err)
	}
	return tbl
}

func put[V any](t *testing.T, tbl *sqltable.Table[V], key string, v V) {
	t.Helper()
	if err := tbl.Put(t.Context(), keymap.NewKey(key), v); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func get[V any](t *testing.T, tbl *sqltable.Table[V], key string) (V, bool) {
	t.Helper()
	v, found, err := tbl.Get(t.Context(), keymap.NewKey(key))
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v, found
}

func names(infos []sqlarchive.TableInfo) []string {
	var s []string
	for _, info := range infos {
		s = append(s, info.Name)
	}
	return s
}

func hashKeymap(t *testing.T) *keymap.Keymap {
	t.Helper()
	k, err := keymap.NewHash(keymap.SHA256, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTableCreateOpenReopen(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		clk := newClock()
		a := open(t, db, d, clk.options())

		fib := table[int](t, a, "fib", nil)
		put(t, fib, "(n=10)", 55)
		info, err := a.Info(ctx, "fib")
		if err != nil {
			t.Fatal(err)
		}
		want := sqlarchive.TableInfo{
			Name: "fib", Table: "fib", Keymap: "string", KeymapVersion: keymap.Version,
			Codec: codec.JSON, Layout: dialect.Layout, CreatedAt: t0, UpdatedAt: t0,
		}
		if !reflect.DeepEqual(info, want) {
			t.Errorf("Info = %+v, want %+v", info, want)
		}

		// Opening again, through this Archive or another, with no options
		// or with the catalog's, finds the same table.
		again := table[int](t, a, "fib", &sqlarchive.TableOptions{Codec: new(codec.JSON), TTL: new(time.Duration(0))})
		if v, found := get(t, again, "(n=10)"); !found || v != 55 {
			t.Errorf("Get after reopening = %v, %v; want 55, true", v, found)
		}
		b := open(t, db, d, nil)
		other := table[int](t, b, "fib", nil)
		if v, found := get(t, other, "(n=10)"); !found || v != 55 {
			t.Errorf("Get from a second Archive = %v, %v; want 55, true", v, found)
		}
		if infos, err := b.Tables(ctx); err != nil || !reflect.DeepEqual(infos, []sqlarchive.TableInfo{want}) {
			t.Errorf("Tables = %+v, %v; want one archive %+v", infos, err, want)
		}
	})
}

func TestTableZeroOptionsOpensAsStored(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		clk := newClock()
		a := open(t, db, d, clk.options())
		w := table[string](t, a, "sessions", &sqlarchive.TableOptions{
			Codec: new(codec.Gob), TTL: new(time.Hour), Keymap: hashKeymap(t),
		})
		put(t, w, "k", "v")

		r := table[string](t, open(t, db, d, clk.options()), "sessions", nil)
		if r.Codec() != codec.Gob {
			t.Errorf("reader's codec = %v, want gob", r.Codec())
		}
		if v, found := get(t, r, "k"); !found || v != "v" {
			t.Errorf("Get = %q, %v; want v, true", v, found)
		}
		clk.Advance(time.Hour) // the catalog's TTL applies to the reader
		if _, found := get(t, r, "k"); found {
			t.Error("entry found after its TTL")
		}
	})
}

func TestTableMismatch(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		a := open(t, db, d, nil)
		table[int](t, a, "fib", &sqlarchive.TableOptions{Codec: new(codec.Gob), TTL: new(time.Hour)})
		tests := []struct {
			name string
			opts sqlarchive.TableOptions
			want sqlarchive.MismatchError
			msg  string
		}{
			{
				name: "codec",
				opts: sqlarchive.TableOptions{Codec: new(codec.JSON)},
				want: sqlarchive.MismatchError{Name: "fib", Field: "codec", Stored: "gob", Requested: "json"},
				msg:  `sqlarchive: table "fib" is stored with codec gob, opened with json`,
			},
			{
				name: "ttl",
				opts: sqlarchive.TableOptions{TTL: new(time.Duration(0))},
				want: sqlarchive.MismatchError{Name: "fib", Field: "ttl", Stored: "1h0m0s", Requested: "0s"},
				msg:  `sqlarchive: table "fib" is stored with ttl 1h0m0s, opened with 0s`,
			},
			{
				name: "keymap",
				opts: sqlarchive.TableOptions{Keymap: hashKeymap(t)},
				want: sqlarchive.MismatchError{Name: "fib", Field: "keymap", Stored: "string", Requested: "hash(sha256)"},
				msg:  `sqlarchive: table "fib" is stored with keymap "string", opened with "hash(sha256)"`,
			},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := sqlarchive.Table[int](t.Context(), a, "fib", &tc.opts)
				mismatch, ok := errors.AsType[*sqlarchive.MismatchError](err)
				if !ok {
					t.Fatalf("Table error = %v, want a *MismatchError", err)
				}
				if *mismatch != tc.want {
					t.Errorf("MismatchError = %+v, want %+v", *mismatch, tc.want)
				}
				if err.Error() != tc.msg {
					t.Errorf("message = %q, want %q", err.Error(), tc.msg)
				}
			})
		}
	})
}

func TestTablesListsOnlyTheCatalog(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		if _, err := db.ExecContext(ctx, `CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)`); err != nil {
			t.Fatal(err)
		}
		a := open(t, db, d, nil)
		for _, name := range []string{"sq@v1", "b", "a"} {
			table[int](t, a, name, nil)
		}
		infos, err := a.Tables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := names(infos), []string{"a", "b", "sq@v1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Tables = %q, want %q", got, want)
		}
		// The database holds more than the catalog lists.
		all, err := d.Tables(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"users", "sq__v1", migrations.ArchivesTable} {
			if !strings.Contains(" "+strings.Join(all, " ")+" ", " "+want+" ") {
				t.Errorf("database tables %q lack %q", all, want)
			}
		}
		// And the application's table is never taken over.
		_, err = sqlarchive.Table[int](ctx, a, "users", nil)
		if err == nil || !strings.Contains(err.Error(), "not list") {
			t.Errorf("Table(users) error = %v, want one saying the catalog does not list it", err)
		}
		if err := a.Drop(ctx, "users"); !errors.Is(err, sqlarchive.ErrNotFound) {
			t.Errorf("Drop(users) = %v, want ErrNotFound", err)
		}
		if ok, err := d.TableExists(ctx, db, "users"); err != nil || !ok {
			t.Errorf("users exists = %v, %v after Table and Drop; want true", ok, err)
		}
	})
}

func TestDrop(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := open(t, db, d, nil)
		fib := table[int](t, a, "fib", nil)
		put(t, fib, "(n=1)", 1)
		keep := table[int](t, a, "keep", nil)

		if err := a.Drop(ctx, "fib"); err != nil {
			t.Fatalf("Drop: %v", err)
		}
		if _, err := a.Info(ctx, "fib"); !errors.Is(err, sqlarchive.ErrNotFound) {
			t.Errorf("Info after Drop = %v, want ErrNotFound", err)
		}
		if ok, err := d.TableExists(ctx, db, "fib"); err != nil || ok {
			t.Errorf("table exists after Drop = %v, %v", ok, err)
		}
		if _, _, err := fib.Get(ctx, keymap.NewKey("(n=1)")); !errors.Is(err, sqltable.ErrClosed) {
			t.Errorf("Get on a dropped archive's table = %v, want sqltable.ErrClosed", err)
		}
		if _, err := keep.Len(ctx); err != nil {
			t.Errorf("Len of another archive after Drop: %v", err)
		}
		err := a.Drop(ctx, "fib")
		if !errors.Is(err, sqlarchive.ErrNotFound) {
			t.Errorf("second Drop = %v, want ErrNotFound", err)
		}
		if want := `sqlarchive: no such archive: "fib"`; err != nil && err.Error() != want {
			t.Errorf("second Drop = %q, want %q", err, want)
		}
		if _, err := a.Stats(ctx, "fib"); !errors.Is(err, sqlarchive.ErrNotFound) {
			t.Errorf("Stats after Drop = %v, want ErrNotFound", err)
		}

		// A new archive of the name starts empty.
		if _, found := get(t, table[int](t, a, "fib", nil), "(n=1)"); found {
			t.Error("entry found in a re-created archive")
		}
		if infos, err := a.Tables(ctx); err != nil || !reflect.DeepEqual(names(infos), []string{"fib", "keep"}) {
			t.Errorf("Tables = %q, %v; want [fib keep]", names(infos), err)
		}
	})
}

func TestConcurrentCreate(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				// Each goroutine stands for a process: its own Archive,
				// migrating and creating at once with the others.
				a, err := sqlarchive.Open(t.Context(), db, &sqlarchive.Options{Dialect: d})
				if err != nil {
					errs[i] = err
					return
				}
				tbl, err := sqlarchive.Table[int](t.Context(), a, "shared", nil)
				if err == nil {
					err = tbl.Put(t.Context(), keymap.NewKey(fmt.Sprint(i)), i)
				}
				errs[i] = errors.Join(err, a.Close())
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d: %v", i, err)
			}
		}
		var rows int
		q := d.Rebind(`SELECT COUNT(*) FROM klepto_archives WHERE name = ?`)
		if err := db.QueryRowContext(t.Context(), q, "shared").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 1 {
			t.Errorf("catalog rows for the archive = %d, want 1", rows)
		}
		a := open(t, db, d, nil)
		if n, err := table[int](t, a, "shared", nil).Len(t.Context()); err != nil || n != 8 {
			t.Errorf("Len = %d, %v; want 8", n, err)
		}
	})
}

func TestOpenWhileDropping(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		opener, dropper := open(t, db, d, nil), open(t, db, d, nil)
		const rounds = 30
		var wg sync.WaitGroup
		var openErrs, dropErrs []error
		wg.Go(func() {
			for range rounds {
				if _, err := sqlarchive.Table[int](ctx, opener, "racy", nil); err != nil {
					openErrs = append(openErrs, err)
				}
			}
		})
		wg.Go(func() {
			for range rounds {
				if err := dropper.Drop(ctx, "racy"); err != nil && !errors.Is(err, sqlarchive.ErrNotFound) {
					dropErrs = append(dropErrs, err)
				}
			}
		})
		wg.Wait()
		for _, err := range openErrs {
			if !errors.Is(err, sqlarchive.ErrNotFound) {
				t.Errorf("Table: %v", err)
			}
		}
		for _, err := range dropErrs {
			t.Errorf("Drop: %v", err)
		}
		// Every table is in the catalog, and every archive has its table.
		infos, err := opener.Tables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, info := range infos {
			listed = append(listed, info.Table)
		}
		all, err := d.Tables(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		var made []string
		for _, name := range all {
			if !strings.HasPrefix(name, "klepto_") {
				made = append(made, name)
			}
		}
		if !reflect.DeepEqual(made, listed) {
			t.Errorf("tables %q, catalog %q; want the same", made, listed)
		}
	})
}

func TestStats(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		clk := newClock()
		a := open(t, db, d, clk.options())
		tbl := table[[]byte](t, a, "blobs", &sqlarchive.TableOptions{Codec: new(codec.Raw), TTL: new(time.Minute)})

		if s, err := a.Stats(ctx, "blobs"); err != nil || s != (sqlarchive.Stats{}) {
			t.Errorf("Stats of an empty archive = %+v, %v; want zero", s, err)
		}
		put(t, tbl, "a", make([]byte, 10))
		put(t, tbl, "b", make([]byte, 20))
		put(t, tbl, "c", make([]byte, 30))
		clk.Advance(2 * time.Minute) // a, b and c expire
		put(t, tbl, "d", make([]byte, 40))
		put(t, tbl, "e", nil)

		s, err := a.Stats(ctx, "blobs")
		if err != nil {
			t.Fatal(err)
		}
		want := sqlarchive.Stats{Rows: 5, Expired: 3, Bytes: 100, Oldest: t0, Newest: t0.Add(2 * time.Minute)}
		if s != want {
			t.Errorf("Stats = %+v, want %+v", s, want)
		}
		clk.Advance(time.Minute) // all expire
		if s, err := a.Stats(ctx, "blobs"); err != nil || s.Expired != 5 || s.Rows != 5 {
			t.Errorf("Stats a minute later = %+v, %v; want 5 rows, 5 expired", s, err)
		}
	})
}

func TestMemoizeAcrossRestart(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		var calls atomic.Int64
		square := func(_ context.Context, n int) (int, error) {
			calls.Add(1)
			return n * n, nil
		}
		const n = 5

		first, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: d})
		if err != nil {
			t.Fatal(err)
		}
		m, err := sqlarchive.Memoize(ctx, first, "square", square, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if v, err := m.Call(ctx, i); err != nil || v != i*i {
				t.Fatalf("Call(%d) = %d, %v", i, v, err)
			}
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}

		// A new process: another Archive and memo, an empty memory.
		second := open(t, db, d, nil)
		m2, err := sqlarchive.Memoize(ctx, second, "square", square, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if v, err := m2.Call(ctx, i); err != nil || v != i*i {
				t.Fatalf("Call(%d) after restart = %d, %v", i, v, err)
			}
		}
		if info := m2.Info(); info.Loads != n || info.Misses != 0 {
			t.Errorf("Info after restart = %+v, want %d loads and no misses", info, n)
		}
		if got := calls.Load(); got != n {
			t.Errorf("function called %d times, want %d", got, n)
		}
		info, err := second.Info(ctx, "square")
		if err != nil || info.Keymap != "string" || info.Codec != codec.JSON {
			t.Errorf("Info = %+v, %v; want the string keymap and the json codec", info, err)
		}
	})
}

func TestMemoizeVersions(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := open(t, db, d, nil)
		v1, err := sqlarchive.Memoize(ctx, a, "scale", func(_ context.Context, n int) (int, error) { return n * 10, nil },
			&sqlarchive.MemoizeOptions[int]{Version: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		v2, err := sqlarchive.Memoize(ctx, a, "scale", func(_ context.Context, n int) (int, error) { return n * 100, nil },
			&sqlarchive.MemoizeOptions[int]{Version: "v2"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := v1.Call(ctx, 3); err != nil || got != 30 {
			t.Errorf("v1 Call(3) = %d, %v; want 30", got, err)
		}
		if got, err := v2.Call(ctx, 3); err != nil || got != 300 {
			t.Errorf("v2 Call(3) = %d, %v; want 300", got, err)
		}
		if info := v2.Info(); info.Loads != 0 || info.Misses != 1 {
			t.Errorf("v2 Info = %+v, want one miss: v1's result is not v2's", info)
		}

		infos, err := a.Tables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, info := range infos {
			got = append(got, info.Name+" "+info.Table+" "+info.FuncVersion)
		}
		if want := []string{"scale@v1 scale__v1 v1", "scale@v2 scale__v2 v2"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Tables = %q, want %q", got, want)
		}
		// The old version stays until dropped.
		if err := a.Drop(ctx, "scale@v1"); err != nil {
			t.Fatal(err)
		}
		if infos, err := a.Tables(ctx); err != nil || !reflect.DeepEqual(names(infos), []string{"scale@v2"}) {
			t.Errorf("Tables after dropping v1 = %q, %v", names(infos), err)
		}
		if v, err := v2.Call(ctx, 3); err != nil || v != 300 {
			t.Errorf("v2 Call after dropping v1 = %d, %v", v, err)
		}
	})
}

func TestMemoizeKeymapMismatch(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := open(t, db, d, nil)
		double := func(_ context.Context, n int) (int, error) { return 2 * n, nil }
		if _, err := sqlarchive.Memoize(ctx, a, "double", double, nil); err != nil {
			t.Fatal(err)
		}
		_, err := sqlarchive.Memoize(ctx, a, "double", double,
			&sqlarchive.MemoizeOptions[int]{Memo: cache.MemoOptions[int]{Keymap: hashKeymap(t)}})
		mismatch, ok := errors.AsType[*sqlarchive.MismatchError](err)
		if !ok || mismatch.Field != "keymap" || mismatch.Stored != "string" || mismatch.Requested != "hash(sha256)" {
			t.Errorf("Memoize with another keymap = %v, want a keymap mismatch", err)
		}
		// The archive's records say which keymap made its keys.
		typed, err := keymap.NewString(&keymap.Options{Typed: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sqlarchive.Memoize(ctx, a, "typed", double,
			&sqlarchive.MemoizeOptions[int]{Memo: cache.MemoOptions[int]{Keymap: typed}}); err != nil {
			t.Fatal(err)
		}
		if info, err := a.Info(ctx, "typed"); err != nil || info.Keymap != "string typed" {
			t.Errorf("Info = %+v, %v; want keymap %q", info, err, "string typed")
		}
	})
}

func TestNameConflicts(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	a := open(t, db, dialect.SQLite, nil)
	table[int](t, a, "fib__v2", nil)
	double := func(_ context.Context, n int) (int, error) { return 2 * n, nil }

	_, err := sqlarchive.Memoize(ctx, a, "fib", double, &sqlarchive.MemoizeOptions[int]{Version: "v2"})
	if want := `sqlarchive: archive "fib@v2": its table "fib__v2" belongs to the archive "fib__v2"`; err == nil || err.Error() != want {
		t.Errorf("Memoize(fib, v2) = %v, want %q", err, want)
	}
	if _, err := sqlarchive.Memoize(ctx, a, "fib@v1", double, &sqlarchive.MemoizeOptions[int]{Version: "v2"}); !errors.Is(err, sqlarchive.ErrInvalidName) {
		t.Errorf("Memoize(fib@v1, v2) = %v, want ErrInvalidName", err)
	}
	if _, err := sqlarchive.Table[int](ctx, a, "Fib", nil); !errors.Is(err, sqlarchive.ErrInvalidName) || !errors.Is(err, dialect.ErrInvalidTableName) {
		t.Errorf("Table(Fib) = %v, want ErrInvalidName and dialect.ErrInvalidTableName", err)
	}
	if _, err := a.Info(ctx, "klepto_archives"); !errors.Is(err, sqlarchive.ErrInvalidName) {
		t.Errorf("Info(klepto_archives) = %v, want ErrInvalidName", err)
	}
}

func TestOptionErrors(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	a := open(t, db, dialect.SQLite, nil)
	double := func(_ context.Context, n int) (int, error) { return 2 * n, nil }
	long, err := keymap.NewString(&keymap.Options{Ignore: []string{strings.Repeat("x", 1100)}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"negative TTL", func() error {
			_, err := sqlarchive.Table[int](ctx, a, "t", &sqlarchive.TableOptions{TTL: new(-time.Second)})
			return err
		}},
		{"invalid codec", func() error {
			_, err := sqlarchive.Table[int](ctx, a, "t", &sqlarchive.TableOptions{Codec: new(codec.Codec(9))})
			return err
		}},
		{"long keymap", func() error {
			_, err := sqlarchive.Table[int](ctx, a, "t", &sqlarchive.TableOptions{Keymap: long})
			return err
		}},
		{"raw codec of ints", func() error {
			_, err := sqlarchive.Table[int](ctx, a, "t", &sqlarchive.TableOptions{Codec: new(codec.Raw)})
			return err
		}},
		{"table keymap", func() error {
			_, err := sqlarchive.Memoize(ctx, a, "m", double,
				&sqlarchive.MemoizeOptions[int]{Table: sqlarchive.TableOptions{Keymap: hashKeymap(t)}})
			return err
		}},
		{"nil function", func() error {
			_, err := sqlarchive.Memoize[int, int](ctx, a, "m", nil, nil)
			return err
		}},
		{"nil *Archive", func() error {
			_, err := sqlarchive.Table[int](ctx, nil, "t", nil)
			return err
		}},
		{"nil *sql.DB", func() error {
			_, err := sqlarchive.Open(ctx, nil, nil)
			return err
		}},
		{"copy from nil", func() error {
			_, err := sqlarchive.Copy(ctx, a, nil, "t", nil)
			return err
		}},
		{"create in nil", func() error {
			_, err := sqlarchive.CreateLike(ctx, nil, sqlarchive.TableInfo{Name: "t"})
			return err
		}},
		{"dump nil", func() error {
			_, err := sqlarchive.Dump(ctx, nil, "t", io.Discard, nil)
			return err
		}},
		{"load into nil", func() error {
			_, err := sqlarchive.Load(ctx, nil, "t", strings.NewReader(""), nil)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, sqlarchive.ErrInvalidOptions) {
				t.Errorf("error = %v, want ErrInvalidOptions", err)
			}
		})
	}
	// Refused options create nothing.
	if infos, err := a.Tables(ctx); err != nil || len(infos) != 0 {
		t.Errorf("Tables = %q, %v; want none", names(infos), err)
	}
}

func TestMemoArchiveMustBeNil(t *testing.T) {
	db := sqltest.SQLite(t)
	a := open(t, db, dialect.SQLite, nil)
	other := table[int](t, a, "other", nil)
	_, err := sqlarchive.Memoize(t.Context(), a, "m", func(_ context.Context, n int) (int, error) { return n, nil },
		&sqlarchive.MemoizeOptions[int]{Memo: cache.MemoOptions[int]{Archive: other}})
	if !errors.Is(err, sqlarchive.ErrInvalidOptions) {
		t.Errorf("Memoize with an archive = %v, want ErrInvalidOptions", err)
	}
}

func TestSkipMigrate(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		_, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: d, SkipMigrate: true})
		if !errors.Is(err, sqlarchive.ErrNoCatalog) || !strings.Contains(err.Error(), "klepto-sql migrate up") {
			t.Fatalf("Open without a catalog = %v, want ErrNoCatalog naming klepto-sql migrate up", err)
		}
		if ok, err := d.TableExists(ctx, db, migrations.ArchivesTable); err != nil || ok {
			t.Fatalf("catalog exists = %v, %v after Open with SkipMigrate", ok, err)
		}
		if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
			t.Fatal(err)
		}
		a := open(t, db, d, &sqlarchive.Options{SkipMigrate: true})
		table[int](t, a, "fib", nil)
	})
}

func TestClose(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	a, err := sqlarchive.Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	fib := table[int](t, a, "fib", nil)
	m, err := sqlarchive.Memoize(ctx, a, "sq", func(_ context.Context, n int) (int, error) { return n * n, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := fib.Close(); err != nil { // closing a table first is fine
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := m.Call(ctx, 2); !errors.Is(err, sqlarchive.ErrClosed) {
		t.Errorf("memo Call after Close = %v, want sqlarchive.ErrClosed", err)
	}
	if _, err := sqlarchive.Table[int](ctx, a, "fib", nil); !errors.Is(err, sqlarchive.ErrClosed) {
		t.Errorf("Table after Close = %v, want ErrClosed", err)
	}
	if _, err := a.Tables(ctx); !errors.Is(err, sqlarchive.ErrClosed) {
		t.Errorf("Tables after Close = %v, want ErrClosed", err)
	}
	if err := a.Drop(ctx, "fib"); !errors.Is(err, sqlarchive.ErrClosed) {
		t.Errorf("Drop after Close = %v, want ErrClosed", err)
	}
	if err := db.PingContext(ctx); err != nil {
		t.Errorf("the *sql.DB is closed: %v", err)
	}
}

func TestTableName(t *testing.T) {
	tests := []struct {
		name, table, version string
	}{
		{"fib", "fib", ""},
		{"fib@v2", "fib__v2", "v2"},
		{"fib@1.2-rc", "fib__1_2_rc", "1.2-rc"},
		{"a_b@2026_11", "a_b__2026_11", "2026_11"},
	}
	for _, tc := range tests {
		table, version, err := sqlarchive.TableName(tc.name)
		if err != nil || table != tc.table || version != tc.version {
			t.Errorf("TableName(%q) = %q, %q, %v; want %q, %q", tc.name, table, version, err, tc.table, tc.version)
		}
	}
	bad := []struct {
		name, msg string
	}{
		{"", `sqlarchive: invalid archive name "": empty`},
		{"Fib", `sqlarchive: invalid archive name "Fib": upper-case letter 'F' at byte 0; names are lower case`},
		{"Fib@v2", `sqlarchive: invalid archive name "Fib@v2": upper-case letter 'F' at byte 0; names are lower case`},
		{"fib@", `sqlarchive: invalid archive name "fib@": function version "" is empty`},
		{"fib@V2", `sqlarchive: invalid archive name "fib@V2": function version "V2" has the upper-case letter 'V' at byte 0; versions are lower case`},
		{"fib@.2", `sqlarchive: invalid archive name "fib@.2": function version ".2" starts with '.'; versions start with a letter a-z or a digit`},
		{"fib@v2@v3", `sqlarchive: invalid archive name "fib@v2@v3": function version "v2@v3" has the character '@' at byte 2; only a-z, 0-9, '.', '-' and '_' are allowed`},
		{"klepto_x", `sqlarchive: invalid archive name "klepto_x": the prefix "klepto_" is reserved`},
		{"f@" + strings.Repeat("v", 46), `sqlarchive: invalid archive name "f@` + strings.Repeat("v", 46) + `": its table name "f__` + strings.Repeat("v", 46) + `": 49 bytes long; the limit is 48`},
	}
	// The messages are the subject here: the name once, then the problem.
	for _, tc := range bad {
		_, _, err := sqlarchive.TableName(tc.name)
		if !errors.Is(err, sqlarchive.ErrInvalidName) || err.Error() != tc.msg {
			t.Errorf("TableName(%q) error = %v\nwant %s", tc.name, err, tc.msg)
		}
		// A table name at fault is also a *dialect.TableNameError.
		_, te := errors.AsType[*dialect.TableNameError](err)
		if want := !strings.Contains(tc.msg, "function version"); te != want || errors.Is(err, dialect.ErrInvalidTableName) != want {
			t.Errorf("TableName(%q) error = %v, a *dialect.TableNameError: %v, want %v", tc.name, err, te, want)
		}
	}
}

// Without Options.Dialect, Open finds the dialect from the driver; a
// dialect that does not match it is refused before any migration runs.
func TestOpenDialect(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		for _, other := range sqltest.Dialects() {
			if other == d {
				continue
			}
			_, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: other})
			if me, ok := errors.AsType[*dialect.MismatchError](err); !ok || me.Dialect != other || me.Database != d {
				t.Errorf("Open with dialect %v on %v: %v, want a *dialect.MismatchError", other, d, err)
			}
		}
		if tables, err := d.Tables(ctx, db); len(tables) != 0 || err != nil {
			t.Fatalf("tables after refused opens: %q, %v", tables, err)
		}
		a, err := sqlarchive.Open(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if a.Dialect() != d {
			t.Errorf("Dialect() = %v, want %v", a.Dialect(), d)
		}
		put(t, table[int](t, a, "fib", nil), "(n=1)", 1)
	})
}

// An archive's errors name it once: those of its table come from package
// sqltable, which names the table, and name the archive only when the
// table's name is another.
func TestErrorsNameTheArchiveOnce(t *testing.T) {
	db := sqltest.SQLite(t)
	a := open(t, db, dialect.SQLite, nil)
	for _, tc := range []struct{ name, table, want string }{
		{"fib", "fib", `sqltable fib: open: the table does not match the archive layout: it has no args column`},
		{"fib@v2", "fib__v2", `sqlarchive: archive "fib@v2": sqltable fib__v2: open: the table does not match the archive layout: it has no args column`},
	} {
		if _, err := sqlarchive.Table[string](t.Context(), a, tc.name, nil); err != nil {
			t.Fatal(err)
		}
		_, err := sqlarchive.Table[int](t.Context(), a, tc.name, &sqlarchive.TableOptions{Codec: new(codec.Gob)})
		if _, ok := errors.AsType[*sqlarchive.MismatchError](err); !ok || strings.Count(err.Error(), tc.name) != 1 {
			t.Errorf("Table(%s) with another codec: %v, want a *MismatchError naming it once", tc.name, err)
		}
		if _, err := db.ExecContext(t.Context(), `ALTER TABLE `+tc.table+` DROP COLUMN args`); err != nil {
			t.Fatal(err)
		}
		_, err = sqlarchive.Table[string](t.Context(), a, tc.name, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Table(%s) of a damaged table: %v, want %s", tc.name, err, tc.want)
		}
	}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := a.Info(canceled, "fib")
	if want := `sqlarchive: info "fib": read catalog: context canceled`; err == nil || err.Error() != want {
		t.Errorf("Info on a canceled context: %v, want %s", err, want)
	}
}

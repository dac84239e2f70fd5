package sqltable_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

func TestOpenInvalidName(t *testing.T) {
	names := []string{
		"",
		`fib"; DROP TABLE x; --`,
		"fib'",
		"fib`",
		"fib;",
		"my table",
		"Fib",
		"FIB",
		"fïb",
		"表",
		"1fib",
		"_fib",
		"fib-cache",
		"sqlite_fib",
		"pg_fib",
		"klepto_fib",
		strings.Repeat("a", dialect.MaxTableName+1),
	}
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		for _, name := range names {
			_, err := sqltable.Open[int](t.Context(), db, name, &sqltable.Options{Dialect: d})
			if !errors.Is(err, dialect.ErrInvalidTableName) {
				t.Errorf("Open(%q) = %v, want an error wrapping dialect.ErrInvalidTableName", name, err)
			}
		}
		tables, err := d.Tables(t.Context(), db)
		if err != nil || len(tables) != 0 {
			t.Errorf("tables after refused opens: %q, %v; want none", tables, err)
		}
		// The longest valid name works.
		long := strings.Repeat("a", dialect.MaxTableName)
		tbl, err := sqltable.Open[int](t.Context(), db, long, &sqltable.Options{Dialect: d})
		if err != nil {
			t.Fatalf("Open(%d-byte name): %v", len(long), err)
		}
		mustPut(t, tbl, "k", 1)
		mustGet(t, tbl, "k", 1)
	})
}

func TestOpenOptions(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	tests := []struct {
		name  string
		db    sqltable.Querier
		table string
		opts  *sqltable.Options
	}{
		{"raw codec of int", db, "fib", &sqltable.Options{Codec: codec.Raw}},
		{"negative TTL", db, "fib", &sqltable.Options{TTL: -time.Second}},
		{"invalid codec", db, "fib", &sqltable.Options{Codec: 7}},
		{"negative MaxValueBytes", db, "fib", &sqltable.Options{MaxValueBytes: -1}},
		{"nil Querier", nil, "fib", nil},
		{"invalid ArgsOptions", db, "fib", &sqltable.Options{ArgsOptions: &keymap.Options{IgnorePositions: []int{-1}}}},
	}
	for _, tc := range tests {
		_, err := sqltable.Open[int](ctx, tc.db, tc.table, tc.opts)
		if !errors.Is(err, sqltable.ErrInvalidOptions) {
			t.Errorf("Open with %s: %v, want ErrInvalidOptions", tc.name, err)
		}
	}
	_, err := sqltable.Open[int](ctx, db, "Fib", nil)
	if !errors.Is(err, dialect.ErrInvalidTableName) {
		t.Errorf("Open of an invalid name: %v, want dialect.ErrInvalidTableName", err)
	}
	if tables, _ := dialect.SQLite.Tables(ctx, db); len(tables) != 0 {
		t.Fatalf("tables after refused opens: %q", tables)
	}

	// nil options mean defaults: the dialect is the driver's.
	tbl, err := sqltable.Open[int](ctx, db, "nil_options", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Dialect() != dialect.SQLite || tbl.Codec() != codec.JSON {
		t.Fatalf("Open with nil options: Dialect, Codec = %v, %v", tbl.Dialect(), tbl.Codec())
	}

	// opts is not modified, and may be shared.
	opts := &sqltable.Options{Dialect: dialect.SQLite}
	before := *opts
	tbl, err = sqltable.Open[int](ctx, db, "fib", opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*opts, before) {
		t.Fatalf("Open modified opts: %+v", *opts)
	}
	if tbl.Name() != "fib" || tbl.Dialect() != dialect.SQLite || tbl.Codec() != codec.JSON {
		t.Fatalf("Name, Dialect, Codec = %q, %v, %v", tbl.Name(), tbl.Dialect(), tbl.Codec())
	}
}

func TestOpenExisting(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: d})
		if err != nil {
			t.Fatal(err)
		}
		mustPut(t, a, "(n=3)", 2)
		// A second Table on the same table sees its entries.
		b, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: d})
		if err != nil {
			t.Fatal(err)
		}
		mustGet(t, b, "(n=3)", 2)
		// A binary codec needs a binary value column.
		_, err = sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: d, Codec: codec.Gob})
		wantErr(t, err, `sqltable fib: open: the table does not match the archive layout: value is `, `(codec gob)`)
		if !errors.Is(err, sqltable.ErrLayout) {
			t.Fatalf("Open with a codec the value column does not suit: %v, want ErrLayout", err)
		}
		exec(t, db, d, "CREATE TABLE other (x INT)")
		_, err = sqltable.Open[int](ctx, db, "other", &sqltable.Options{Dialect: d})
		wantErr(t, err, `sqltable other: open: the table does not match the archive layout: it has no key_hash, key_text, args, value, size_bytes, created_at, updated_at, expires_at columns`)

		// Opening one new table from many goroutines at once.
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				tbl, err := sqltable.Open[int](ctx, db, "together", &sqltable.Options{Dialect: d})
				if err == nil {
					err = tbl.Close()
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Open: %v", err)
			}
		}
	})
}

func TestKeyText(t *testing.T) {
	tests := []struct{ text, stored string }{
		{"(n=30)", "(n=30)"},
		{"", ""},
		{"キー🔑", "キー🔑"},
		{"a\x00b", "base64:YQBi"},
		{"\xff\xfe", "base64://4="},
		{"base64:", "base64:YmFzZTY0Og=="},
		{"base64:YQBi", "base64:YmFzZTY0OllRQmk="},
		{"base64", "base64"},
	}
	for _, tc := range tests {
		if got := sqltable.EncodeKeyText(tc.text); got != tc.stored {
			t.Errorf("EncodeKeyText(%q) = %q, want %q", tc.text, got, tc.stored)
		}
		if got, err := sqltable.DecodeKeyText(tc.stored); err != nil || got != tc.text {
			t.Errorf("DecodeKeyText(%q) = %q, %v; want %q", tc.stored, got, err, tc.text)
		}
	}
	if _, err := sqltable.DecodeKeyText("base64:!!"); err == nil {
		t.Error("DecodeKeyText of bad base64: no error")
	}

	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		tbl := open[int](t, db, d, nil)
		texts := []string{"(n=30)", "a\x00b", "\xff\xfe", "base64:YQBi", "\x00", strings.Repeat("κ", 1<<19)}
		for i, text := range texts {
			mustPut(t, tbl, text, i)
		}
		got := keyTexts(t, tbl)
		slices.Sort(got)
		want := slices.Sorted(slices.Values(texts))
		if !slices.Equal(got, want) {
			t.Fatalf("Keys = %.30q, want %.30q", got, want)
		}
		// key_text reads well in SQL clients.
		for _, tc := range tests[:5] {
			mustPut(t, tbl, tc.text, 7)
			var stored string
			err := db.QueryRowContext(t.Context(), d.Rebind("SELECT key_text FROM "+d.QuoteIdent(tbl.Name())+" WHERE key_hash = ?"),
				hashOf(tc.text)).Scan(&stored)
			if err != nil || stored != tc.stored {
				t.Errorf("stored key_text of %q = %q, %v; want %q", tc.text, stored, err, tc.stored)
			}
		}
	})
}

// TestReadable reads entries as a person would, with plain SQL.
func TestReadable(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		tbl, err := sqltable.Open[point](ctx, db, "fib", &sqltable.Options{Dialect: d})
		if err != nil {
			t.Fatal(err)
		}
		if err := tbl.PutArgs(ctx, keymap.NewKey("(n=30)"), struct{ N int }{30}, point{N: 832040, S: "<&>"}); err != nil {
			t.Fatal(err)
		}
		var value, args string
		var size int
		err = db.QueryRowContext(ctx, d.Rebind("SELECT value, args, size_bytes FROM fib WHERE key_text = ?"), "(n=30)").
			Scan(&value, &args, &size)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(value, `"S": "<&>"`) && !strings.Contains(value, `"S":"<&>"`) {
			t.Errorf("value = %s, want readable JSON", value)
		}
		if strings.ReplaceAll(args, " ", "") != `{"N":30}` {
			t.Errorf("args = %s, want {\"N\":30}", args)
		}
		if size != len(`{"N":832040,"S":"<&>","Tags":null}`) {
			t.Errorf("size_bytes = %d", size)
		}
		// Put keeps the arguments of an entry.
		mustPut(t, tbl, "(n=30)", point{N: 1})
		if err := db.QueryRowContext(ctx, "SELECT args FROM fib").Scan(&args); err != nil || strings.ReplaceAll(args, " ", "") != `{"N":30}` {
			t.Errorf("args after Put = %s, %v", args, err)
		}
	})
}

func TestTimestamps(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		now := time.Date(2026, 11, 27, 6, 25, 59, 37_000_000, time.UTC)
		tbl := open[int](t, db, d, &sqltable.Options{Clock: func() time.Time { return now }, TTL: time.Hour})
		mustPut(t, tbl, "k", 1)
		created := now
		now = now.Add(time.Minute)
		if err := tbl.PutMany(t.Context(), []cache.Entry[int]{{Key: keymap.NewKey("k"), Value: 2}}); err != nil {
			t.Fatal(err)
		}
		var c, u, e time.Time
		err := db.QueryRowContext(t.Context(), "SELECT created_at, updated_at, expires_at FROM "+d.QuoteIdent(tbl.Name())).
			Scan(d.ScanTime(&c), d.ScanTime(&u), d.ScanTime(&e))
		if err != nil {
			t.Fatal(err)
		}
		if !c.Equal(created) || !u.Equal(now) || !e.Equal(now.Add(time.Hour)) {
			t.Fatalf("created, updated, expires = %v, %v, %v; want %v, %v, %v", c, u, e, created, now, now.Add(time.Hour))
		}
	})
}

func TestTTL(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		clock := func() time.Time { return now }
		tbl := open[int](t, db, d, &sqltable.Options{TTL: time.Hour, Clock: clock})
		forever, err := sqltable.Open[int](ctx, db, tbl.Name(), &sqltable.Options{Dialect: d, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		mustPut(t, tbl, "old", 1)
		now = now.Add(30 * time.Minute)
		mustPut(t, tbl, "new", 2)
		mustPut(t, forever, "forever", 3)

		now = now.Add(45 * time.Minute) // "old" expired 15 minutes ago
		mustMiss(t, tbl, "old")
		mustGet(t, tbl, "new", 2)
		mustGet(t, tbl, "forever", 3)
		mustLen(t, tbl, 2)
		if has, err := tbl.Has(ctx, keymap.NewKey("old")); has || err != nil {
			t.Fatalf("Has(old) = %v, %v", has, err)
		}
		if got := keyTexts(t, tbl); len(got) != 2 || slices.Contains(got, "old") {
			t.Fatalf("Keys = %q", got)
		}
		for e, err := range tbl.All(ctx) {
			if err != nil || e.Key.Text == "old" {
				t.Fatalf("All yielded %v, %v", e, err)
			}
		}
		m, err := tbl.GetMany(ctx, []keymap.Key{keymap.NewKey("old"), keymap.NewKey("new")})
		if err != nil || len(m) != 1 {
			t.Fatalf("GetMany = %v, %v", m, err)
		}
		if _, found, err := tbl.Pop(ctx, keymap.NewKey("old")); found || err != nil {
			t.Fatalf("Pop(old) = %v, %v", found, err)
		}

		// Rewriting an expired entry revives it.
		mustPut(t, tbl, "old", 4)
		mustGet(t, tbl, "old", 4)

		now = now.Add(2 * time.Hour)
		mustLen(t, tbl, 1)
		if n, err := tbl.DeleteExpired(ctx); n != 2 || err != nil {
			t.Fatalf("DeleteExpired = %d, %v; want 2", n, err)
		}
		now = now.Add(-24 * time.Hour) // a clock going back sees no expired entry, but they are gone
		mustLen(t, tbl, 1)
	})
}

func TestUndecodable(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		tbl, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: d})
		if err != nil {
			t.Fatal(err)
		}
		for n := range 5 {
			mustPut(t, tbl, fmt.Sprintf("(n=%d)", n), n)
		}
		exec(t, db, d, `UPDATE fib SET value = '"three"' WHERE key_text = ?`, "(n=3)")

		_, _, err = tbl.Get(ctx, keymap.NewKey("(n=3)"))
		wantErr(t, err, `sqltable fib: decode value of key "(n=3)": json: cannot unmarshal string`)
		mustGet(t, tbl, "(n=2)", 2)
		mustGet(t, tbl, "(n=4)", 4)
		if len(keyTexts(t, tbl)) != 5 {
			t.Fatal("Keys must list the undecodable entry")
		}
		var allErr error
		for _, err := range tbl.All(ctx) {
			allErr = err
		}
		wantErr(t, allErr, `decode value of key "(n=3)"`)
		_, err = tbl.GetMany(ctx, []keymap.Key{keymap.NewKey("(n=1)"), keymap.NewKey("(n=3)")})
		wantErr(t, err, `sqltable fib: decode value of key "(n=3)"`)
		_, _, err = tbl.Pop(ctx, keymap.NewKey("(n=3)"))
		wantErr(t, err, `sqltable fib: decode value of key "(n=3)"`)
		if has, _ := tbl.Has(ctx, keymap.NewKey("(n=3)")); !has {
			t.Fatal("a failed Pop removed the entry")
		}

		gobs := open[int](t, db, d, &sqltable.Options{Codec: codec.Gob})
		mustPut(t, gobs, "(n=1)", 1)
		mustPut(t, gobs, "(n=2)", 2)
		exec(t, db, d, "UPDATE "+d.QuoteIdent(gobs.Name())+" SET value = ? WHERE key_text = ?", []byte{0x03, 0xff}, "(n=2)")
		_, _, err = gobs.Get(ctx, keymap.NewKey("(n=2)"))
		wantErr(t, err, `decode value of key "(n=2)"`)
		mustGet(t, gobs, "(n=1)", 1)
	})
}

func TestPop(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		tbl := open[string](t, db, d, nil)
		mustPut(t, tbl, "k", "v")
		v, found, err := tbl.Pop(ctx, keymap.NewKey("k"))
		if v != "v" || !found || err != nil {
			t.Fatalf("Pop = %q, %v, %v", v, found, err)
		}
		if _, found, err := tbl.Pop(ctx, keymap.NewKey("k")); found || err != nil {
			t.Fatalf("second Pop = %v, %v", found, err)
		}
		mustLen(t, tbl, 0)

		// Of concurrent Pops of one key, exactly one finds it.
		for round := range 5 {
			mustPut(t, tbl, "k", fmt.Sprint(round))
			var wg sync.WaitGroup
			var mu sync.Mutex
			founds := 0
			for range 4 {
				wg.Go(func() {
					_, found, err := tbl.Pop(ctx, keymap.NewKey("k"))
					if err != nil {
						t.Errorf("Pop: %v", err)
					}
					if found {
						mu.Lock()
						founds++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if founds != 1 {
				t.Fatalf("round %d: %d Pops found the key, want 1", round, founds)
			}
		}
	})
}

func TestGetMany(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		tbl := open[int](t, db, d, nil)
		var entries []cache.Entry[int]
		var keys []keymap.Key
		for i := range 1234 {
			k := keymap.NewKey(fmt.Sprintf("(n=%d)", i))
			keys = append(keys, k)
			if i%3 != 0 {
				entries = append(entries, cache.Entry[int]{Key: k, Value: i})
			}
		}
		if err := tbl.PutMany(t.Context(), entries); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, keys[1], keys[3]) // duplicates are fine
		m, err := tbl.GetMany(t.Context(), keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != len(entries) {
			t.Fatalf("GetMany returned %d values, want %d", len(m), len(entries))
		}
		for _, e := range entries {
			if m[e.Key.Hash] != e.Value {
				t.Fatalf("GetMany[%q] = %d, want %d", e.Key.Text, m[e.Key.Hash], e.Value)
			}
		}
		if m, err := tbl.GetMany(t.Context(), nil); err != nil || len(m) != 0 {
			t.Fatalf("GetMany(nil) = %v, %v", m, err)
		}
	})
}

// TestPutManyAwkward writes batches of keys and values that need quoting
// or escaping.
func TestPutManyAwkward(t *testing.T) {
	texts := []string{
		"", `"`, `\`, `\"`, "{", "}", "{a,b}", ",", "NULL", "null", " ", "a\tb\n", "'; DROP TABLE x; --",
		"\x00", "\xff\xfe", "キー🔑", "base64:", strings.Repeat("k", 1<<20),
	}
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		strs := open[string](t, db, d, nil)
		raws := open[[]byte](t, db, d, &sqltable.Options{Codec: codec.Raw})
		var se []cache.Entry[string]
		var re []cache.Entry[[]byte]
		for i, text := range texts {
			k := keymap.NewKey(text)
			// JSON strings hold valid UTF-8 only, and PostgreSQL's JSONB no
			// U+0000.
			v := strings.ToValidUTF8(strings.ReplaceAll(texts[(i+1)%len(texts)], "\x00", ""), "?") + `\u0001"`
			se = append(se, cache.Entry[string]{Key: k, Value: v})
			re = append(re, cache.Entry[[]byte]{Key: k, Value: []byte(texts[(i+2)%len(texts)])})
		}
		re[3].Value = nil // stored as an empty value
		if err := strs.PutMany(t.Context(), se); err != nil {
			t.Fatal(err)
		}
		if err := raws.PutMany(t.Context(), re); err != nil {
			t.Fatal(err)
		}
		re[3].Value = []byte{}
		for i := range texts {
			mustGet(t, strs, se[i].Key.Text, se[i].Value)
			mustGet(t, raws, re[i].Key.Text, re[i].Value)
		}
		got := keyTexts(t, strs)
		slices.Sort(got)
		if want := slices.Sorted(slices.Values(texts)); !slices.Equal(got, want) {
			t.Fatalf("Keys = %.20q, want %.20q", got, want)
		}
	})
}

func TestPutManyConcurrent(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		tbl := open[int](t, db, d, nil)
		const workers, rounds, hot = 8, 6, 800
		value := func(k int) int { return k * 7 }
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 1))
				for round := range rounds {
					// Hot keys shared by every worker, in random order, a
					// repeated key, and keys of this worker only.
					var batch []cache.Entry[int]
					for _, k := range r.Perm(hot)[:hot*3/4] {
						batch = append(batch, cache.Entry[int]{Key: keymap.NewKey(fmt.Sprint(k)), Value: value(k)})
					}
					batch = append(batch, batch[0])
					for i := range 50 {
						k := 10_000 + (w*rounds+round)*50 + i
						batch = append(batch, cache.Entry[int]{Key: keymap.NewKey(fmt.Sprint(k)), Value: value(k)})
					}
					r.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
					if err := tbl.PutMany(t.Context(), batch); err != nil {
						t.Errorf("worker %d round %d: %v", w, round, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		var keys []keymap.Key
		for k := range hot {
			keys = append(keys, keymap.NewKey(fmt.Sprint(k)))
		}
		for i := range workers * rounds * 50 {
			keys = append(keys, keymap.NewKey(fmt.Sprint(10_000+i)))
		}
		m, err := tbl.GetMany(t.Context(), keys)
		if err != nil {
			t.Fatal(err)
		}
		want := workers * rounds * 50
		for _, k := range keys[:hot] {
			if _, ok := m[k.Hash]; ok {
				want++
			}
		}
		mustLen(t, tbl, want)
		for _, k := range keys {
			var n int
			fmt.Sscan(k.Text, &n)
			if v, ok := m[k.Hash]; (ok || n >= 10_000) && v != value(n) {
				t.Fatalf("key %s = %d, %v; want %d", k.Text, v, ok, value(n))
			}
		}
	})
}

func TestCopyTo(t *testing.T) {
	// Destinations check expiry on the real clock.
	now := time.Now().UTC().Truncate(time.Millisecond)
	srcDB := sqltest.SQLite(t)
	src := open[point](t, srcDB, dialect.SQLite, &sqltable.Options{Clock: func() time.Time { return now }})
	var entries []cache.Entry[point]
	for i := range 1234 {
		entries = append(entries, cache.Entry[point]{Key: keymap.NewKey(fmt.Sprintf("(n=%d)", i)), Value: pointValue(i)})
	}
	if err := src.PutMany(t.Context(), entries); err != nil {
		t.Fatal(err)
	}
	if err := src.PutArgs(t.Context(), keymap.NewKey("\xffbinary"), 5, pointValue(5)); err != nil {
		t.Fatal(err)
	}
	// An entry that expired is not copied.
	past, err := sqltable.Open[point](t.Context(), srcDB, src.Name(), &sqltable.Options{Dialect: dialect.SQLite,
		TTL: time.Minute, Clock: func() time.Time { return now.Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, past, "expired", point{})
	future, err := sqltable.Open[point](t.Context(), srcDB, src.Name(), &sqltable.Options{Dialect: dialect.SQLite,
		TTL: time.Hour, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, future, "(ttl)", pointValue(7))
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		for _, vc := range []codec.Codec{codec.JSON, codec.Gob} {
			t.Run(vc.String(), func(t *testing.T) {
				dst := open[point](t, db, d, &sqltable.Options{Codec: vc})
				mustPut(t, dst, "(n=1)", point{N: -1}) // overwritten
				mustPut(t, dst, "mine", point{N: -2})  // kept
				for range 2 {                          // a second copy, as after an interruption, changes nothing
					n, err := src.CopyTo(t.Context(), dst, nil)
					if err != nil || n != len(entries)+2 {
						t.Fatalf("CopyTo = %d, %v; want %d", n, err, len(entries)+2)
					}
				}
				mustLen(t, dst, len(entries)+3)
				for e, err := range src.All(t.Context()) {
					if err != nil {
						t.Fatal(err)
					}
					mustGet(t, dst, e.Key.Text, e.Value)
				}
				var args string
				err := db.QueryRowContext(t.Context(), d.Rebind("SELECT args FROM "+d.QuoteIdent(dst.Name())+" WHERE key_hash = ?"),
					hashOf("\xffbinary")).Scan(&args)
				if err != nil || args != "[5]" {
					t.Fatalf("copied args = %q, %v", args, err)
				}
				var created, expires time.Time
				err = db.QueryRowContext(t.Context(), d.Rebind("SELECT created_at, expires_at FROM "+d.QuoteIdent(dst.Name())+" WHERE key_hash = ?"),
					hashOf("(ttl)")).Scan(d.ScanTime(&created), d.ScanTime(&expires))
				if err != nil || !created.Equal(now) || !expires.Equal(now.Add(time.Hour)) {
					t.Fatalf("copied created_at, expires_at = %v, %v, %v; want %v, %v", created, expires, err, now, now.Add(time.Hour))
				}
			})
		}
	})
}

func TestMaxValueBytes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		tbl := open[string](t, db, d, &sqltable.Options{MaxValueBytes: 100})
		mustPut(t, tbl, "k", "small")
		big := strings.Repeat("x", 100)
		err := tbl.Put(t.Context(), keymap.NewKey("k"), big)
		if !errors.Is(err, sqltable.ErrTooLarge) {
			t.Fatalf("Put of a big value: %v, want ErrTooLarge", err)
		}
		wantErr(t, err, `sqltable `+tbl.Name()+`: put "k": the value is 102 bytes, over Options.MaxValueBytes (100 bytes)`)
		err = tbl.PutMany(t.Context(), []cache.Entry[string]{{Key: keymap.NewKey("a"), Value: "a"}, {Key: keymap.NewKey("k"), Value: big}})
		if !errors.Is(err, sqltable.ErrTooLarge) {
			t.Fatalf("PutMany with a big value: %v, want ErrTooLarge", err)
		}
		mustGet(t, tbl, "k", "small")
		mustMiss(t, tbl, "a")
	})
}

func TestMaxAllowedPacket(t *testing.T) {
	db := sqltest.MySQL(t)
	ctx := t.Context()
	var limit int
	if err := db.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&limit); err != nil {
		t.Fatal(err)
	}
	tbl := open[[]byte](t, db, dialect.MySQL, &sqltable.Options{Codec: codec.Raw})
	mustPut(t, tbl, "k", []byte("small"))
	big := make([]byte, limit)
	err := tbl.Put(ctx, keymap.NewKey("k"), big)
	if !errors.Is(err, sqltable.ErrTooLarge) {
		t.Fatalf("Put of %d bytes: %v, want ErrTooLarge", len(big), err)
	}
	wantErr(t, err, fmt.Sprintf("value %d bytes", limit), fmt.Sprintf("max_allowed_packet of %d bytes", limit))
	err = tbl.PutMany(ctx, []cache.Entry[[]byte]{{Key: keymap.NewKey("a"), Value: []byte("a")}, {Key: keymap.NewKey("k"), Value: big}})
	if !errors.Is(err, sqltable.ErrTooLarge) {
		t.Fatalf("PutMany with %d bytes: %v, want ErrTooLarge", len(big), err)
	}
	mustGet(t, tbl, "k", []byte("small"))
	mustMiss(t, tbl, "a")

	// A batch larger than a packet, of values that fit, is split.
	third := make([]byte, limit/3)
	var batch []cache.Entry[[]byte]
	for i := range 4 {
		third[0] = byte(i)
		batch = append(batch, cache.Entry[[]byte]{Key: keymap.NewKey(fmt.Sprint(i)), Value: slices.Clone(third)})
	}
	if err := tbl.PutMany(ctx, batch); err != nil {
		t.Fatalf("PutMany of %d bytes: %v", 4*len(third), err)
	}
	for _, e := range batch {
		mustGet(t, tbl, e.Key.Text, e.Value)
	}
}

// TestBoundToTransaction uses a Table inside the caller's transaction and
// on one connection.
func TestBoundToTransaction(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		outside := open[int](t, db, d, nil)

		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		inside, err := sqltable.Open[int](ctx, tx, outside.Name(), &sqltable.Options{Dialect: d})
		if err != nil {
			t.Fatal(err)
		}
		mustPut(t, inside, "a", 1)
		var many []cache.Entry[int]
		for i := range 1200 {
			many = append(many, cache.Entry[int]{Key: keymap.NewKey(fmt.Sprint(i)), Value: i})
		}
		if err := inside.PutMany(ctx, many); err != nil {
			t.Fatal(err)
		}
		mustGet(t, inside, "a", 1)
		mustLen(t, inside, 1201)
		if v, found, err := inside.Pop(ctx, keymap.NewKey("7")); v != 7 || !found || err != nil {
			t.Fatalf("Pop in a transaction = %d, %v, %v", v, found, err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		mustLen(t, outside, 0)

		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		onConn, err := sqltable.Open[int](ctx, conn, outside.Name(), &sqltable.Options{Dialect: d})
		if err != nil {
			t.Fatal(err)
		}
		if err := onConn.PutMany(ctx, many); err != nil {
			t.Fatal(err)
		}
		if v, found, err := onConn.Pop(ctx, keymap.NewKey("7")); v != 7 || !found || err != nil {
			t.Fatalf("Pop on a connection = %d, %v, %v", v, found, err)
		}
		if err := onConn.Close(); err != nil {
			t.Fatal(err)
		}
		mustLen(t, outside, 1199)
	})
}

func TestCloseDrop(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		tbl := open[int](t, db, d, nil)
		mustPut(t, tbl, "k", 1)
		if err := tbl.Close(); err != nil {
			t.Fatal(err)
		}
		if err := tbl.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, _, err := tbl.Get(ctx, keymap.NewKey("k")); !errors.Is(err, sqltable.ErrClosed) {
			t.Fatalf("Get after Close: %v, want ErrClosed", err)
		}
		if err := tbl.PutMany(ctx, []cache.Entry[int]{{Key: keymap.NewKey("k"), Value: 1}}); !errors.Is(err, sqltable.ErrClosed) {
			t.Fatalf("PutMany after Close: %v, want ErrClosed", err)
		}
		for _, err := range tbl.Keys(ctx) {
			if !errors.Is(err, sqltable.ErrClosed) {
				t.Fatalf("Keys after Close: %v, want ErrClosed", err)
			}
		}
		if err := db.PingContext(ctx); err != nil {
			t.Fatalf("Close closed the pool: %v", err)
		}

		again, err := sqltable.Open[int](ctx, db, tbl.Name(), &sqltable.Options{Dialect: d})
		if err != nil {
			t.Fatal(err)
		}
		mustGet(t, again, "k", 1)
		if err := again.Drop(ctx); err != nil {
			t.Fatal(err)
		}
		if exists, err := d.TableExists(ctx, db, tbl.Name()); exists || err != nil {
			t.Fatalf("table exists after Drop: %v, %v", exists, err)
		}
		if err := again.Drop(ctx); !errors.Is(err, sqltable.ErrClosed) {
			t.Fatalf("second Drop: %v, want ErrClosed", err)
		}
	})
}

func TestPutArgsUnsupported(t *testing.T) {
	db := sqltest.SQLite(t)
	type call struct {
		N   int
		Log func(string)
	}
	tbl := open[int](t, db, dialect.SQLite, nil)
	err := tbl.PutArgs(t.Context(), keymap.NewKey("(N=1)"), call{N: 1}, 1)
	wantErr(t, err, `put "(N=1)": encode arguments`)
	mustMiss(t, tbl, "(N=1)")

	ignoring := open[int](t, db, dialect.SQLite, &sqltable.Options{ArgsOptions: &keymap.Options{Ignore: []string{"Log"}}})
	if err := ignoring.PutArgs(t.Context(), keymap.NewKey("(N=1)"), call{N: 1}, 1); err != nil {
		t.Fatal(err)
	}
	mustGet(t, ignoring, "(N=1)", 1)
}

// TestMemoize memoizes a function into a table, then reads it back from a
// second memo as another process would.
func TestMemoize(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		tbl := open[int](t, db, d, nil)
		type args struct{ A, B int }
		calls := 0
		add := func(_ context.Context, a args) (int, error) { calls++; return a.A + a.B, nil }
		for range 2 {
			m, err := cache.Memoize(add, &cache.MemoOptions[int]{Archive: tbl})
			if err != nil {
				t.Fatal(err)
			}
			if v, err := m.Call(t.Context(), args{2, 3}); v != 5 || err != nil {
				t.Fatalf("Call = %d, %v", v, err)
			}
		}
		if calls != 1 {
			t.Fatalf("function ran %d times, want 1", calls)
		}
		var stored string
		if err := db.QueryRowContext(t.Context(), "SELECT args FROM "+d.QuoteIdent(tbl.Name())).Scan(&stored); err != nil ||
			strings.ReplaceAll(stored, " ", "") != `{"A":2,"B":3}` {
			t.Fatalf("args = %s, %v", stored, err)
		}
	})
}

// hashOf returns the key_hash of the key of text.
func hashOf(text string) []byte {
	h := keymap.NewKey(text).Hash
	return h[:]
}

// TestSQLitePools uses the recommended pair of SQLite pools: a Table on the
// writer, and one of the same name on the read-only reader.
func TestSQLitePools(t *testing.T) {
	writer, reader := sqltest.SQLitePools(t)
	ctx := t.Context()
	w, err := sqltable.Open[int](ctx, writer, "fib", &sqltable.Options{Dialect: dialect.SQLite})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := sqltable.Open[int](ctx, reader, "fib", &sqltable.Options{Dialect: dialect.SQLite})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	mustPut(t, w, "(n=3)", 2)
	mustGet(t, r, "(n=3)", 2)
	if got := keyTexts(t, r); len(got) != 1 {
		t.Fatalf("Keys on the reader = %q", got)
	}
	if err := r.Put(ctx, keymap.NewKey("(n=4)"), 3); err == nil {
		t.Fatal("Put through the read-only pool succeeded")
	}
	// A loop over the reader's entries may write through the writer.
	for e, err := range r.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		mustPut(t, w, e.Key.Text+"'", e.Value+1)
	}
	mustGet(t, r, "(n=3)'", 3)
}

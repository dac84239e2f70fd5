package sqltable_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqltable"
)

// openStored opens the table called name with its values as stored.
func openStored(t testing.TB, db sqltable.Querier, d *dialect.Dialect, name string, c codec.Codec) *sqltable.Table[[]byte] {
	t.Helper()
	tbl, err := sqltable.Open[[]byte](t.Context(), db, name, &sqltable.Options{Dialect: d, Codec: c, Stored: true})
	if err != nil {
		t.Fatalf("Open with Stored: %v", err)
	}
	t.Cleanup(func() { _ = tbl.Close() })
	return tbl
}

// A Table of Options.Stored reads and writes the values of a table of
// codec gob or raw as their bytes, never decoded.
func TestStoredBinary(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		gob := open[point](t, db, d, &sqltable.Options{Codec: codec.Gob})
		mustPut(t, gob, "a", pointValue(1))
		stored := openStored(t, db, d, gob.Name(), codec.Gob)
		if stored.Codec() != codec.Gob {
			t.Fatalf("Codec() = %v, want gob", stored.Codec())
		}
		encoded, err := codec.Encode(codec.Gob, pointValue(1))
		if err != nil {
			t.Fatal(err)
		}
		mustGet(t, stored, "a", encoded)
		encoded2, err := codec.Encode(codec.Gob, pointValue(2))
		if err != nil {
			t.Fatal(err)
		}
		mustPut(t, stored, "b", encoded2)
		mustGet(t, gob, "b", pointValue(2))

		raw := open[[]byte](t, db, d, &sqltable.Options{Codec: codec.Raw})
		stored = openStored(t, db, d, raw.Name(), codec.Raw)
		for _, v := range [][]byte{bytesValue(1), {}, nil} {
			if err := stored.Put(ctx, keymap.NewKey("k"), v); err != nil {
				t.Fatal(err)
			}
			mustGet(t, stored, "k", append([]byte{}, v...)) // never nil
			mustGet(t, raw, "k", append([]byte{}, v...))
		}
	})
}

// For codec json, the values are JSON text: checked, and stored without
// insignificant space.
func TestStoredJSON(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		typed := open[point](t, db, d, nil)
		mustPut(t, typed, "a", pointValue(1))
		stored := openStored(t, db, d, typed.Name(), codec.JSON)
		got, found, err := stored.Get(ctx, keymap.NewKey("a"))
		if err != nil || !found {
			t.Fatalf("Get = %q, %v, %v", got, found, err)
		}
		var p point
		if err := json.Unmarshal(got, &p); err != nil || !reflect.DeepEqual(p, pointValue(1)) {
			t.Fatalf("Get = %s, which decodes to %+v, %v; want %+v", got, p, err, pointValue(1))
		}

		mustPut(t, stored, "b", []byte(` {"N": 2, "S": "<b> & ünïcode"} `))
		mustGet(t, typed, "b", point{N: 2, S: "<b> & ünïcode"})
		var size int64
		err = db.QueryRowContext(ctx, d.Rebind("SELECT size_bytes FROM "+d.QuoteIdent(typed.Name())+" WHERE key_hash = ?"),
			hashOf("b")).Scan(&size)
		if want := len(`{"N":2,"S":"<b> & ünïcode"}`); err != nil || size != int64(want) {
			t.Fatalf("size_bytes = %d, %v; want %d, the size of the JSON without spaces", size, err, want)
		}
		if d == dialect.SQLite { // stored as written; the servers normalize JSON their own way
			mustGet(t, stored, "b", []byte(`{"N":2,"S":"<b> & ünïcode"}`))
		}

		for _, v := range []string{"", "hello", `{"N":`, `1 2`} {
			err := stored.Put(ctx, keymap.NewKey("c"), []byte(v))
			wantErr(t, err, `put "c": encode value: the value is not JSON`)
			err = stored.PutMany(ctx, []cache.Entry[[]byte]{{Key: keymap.NewKey("c"), Value: []byte(v)}})
			wantErr(t, err, "the value is not JSON")
		}
		mustMiss(t, stored, "c")
	})
}

// Every read and write of a Table works with Options.Stored.
func TestStoredOperations(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		for _, c := range []codec.Codec{codec.JSON, codec.Gob, codec.Raw} {
			t.Run(c.String(), func(t *testing.T) {
				ctx := t.Context()
				value := func(i int) []byte {
					if c == codec.JSON {
						return []byte(`{"i":` + string(rune('0'+i)) + `}`)
					}
					return bytesValue(i)
				}
				tbl := openStored(t, db, d, newName(), c)
				if err := tbl.PutArgs(ctx, keymap.NewKey("a"), []int{1}, value(1)); err != nil {
					t.Fatal(err)
				}
				err := tbl.PutMany(ctx, []cache.Entry[[]byte]{{Key: keymap.NewKey("b"), Value: value(2)}, {Key: keymap.NewKey("c"), Value: value(3)}})
				if err != nil {
					t.Fatal(err)
				}
				now := time.Now().UTC().Truncate(time.Second)
				err = tbl.PutRows(ctx, []sqltable.Row[[]byte]{{Key: keymap.NewKey("d"), Value: value(4), CreatedAt: now, UpdatedAt: now}})
				if err != nil {
					t.Fatal(err)
				}
				want := map[string][]byte{"a": value(1), "b": value(2), "c": value(3), "d": value(4)}
				check := func(text string, got []byte) {
					t.Helper()
					if c == codec.JSON {
						if !jsonEqual(t, got, string(want[text])) {
							t.Fatalf("%q = %s, want %s", text, got, want[text])
						}
						return
					}
					if !bytes.Equal(got, want[text]) {
						t.Fatalf("%q = %q, want %q", text, got, want[text])
					}
				}
				mustLen(t, tbl, 4)
				n := 0
				for e, err := range tbl.All(ctx) {
					if err != nil {
						t.Fatal(err)
					}
					check(e.Key.Text, e.Value)
					n++
				}
				for r, err := range tbl.Rows(ctx) {
					if err != nil {
						t.Fatal(err)
					}
					check(r.Key.Text, r.Value)
					if r.Key.Text == "d" && !r.CreatedAt.Equal(now) {
						t.Fatalf("created_at of d = %v, want %v", r.CreatedAt, now)
					}
					n++
				}
				got, err := tbl.GetMany(ctx, []keymap.Key{keymap.NewKey("a"), keymap.NewKey("b")})
				if err != nil || len(got) != 2 {
					t.Fatalf("GetMany = %q, %v", got, err)
				}
				check("a", got[keymap.NewKey("a").Hash])
				v, found, err := tbl.Pop(ctx, keymap.NewKey("c"))
				if err != nil || !found {
					t.Fatalf("Pop = %q, %v, %v", v, found, err)
				}
				check("c", v)
				if n != 8 {
					t.Fatalf("All and Rows yielded %d entries, want 8", n)
				}
				if keys := keyTexts(t, tbl); !reflect.DeepEqual(slices.Sorted(slices.Values(keys)), []string{"a", "b", "d"}) {
					t.Fatalf("Keys = %q", keys)
				}
			})
		}
	})
}

func TestStoredOpen(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		_, err := sqltable.Open[json.RawMessage](ctx, db, newName(), &sqltable.Options{Dialect: d, Stored: true})
		wantErr(t, err, "Options.Stored needs []byte values, not json.RawMessage")
		if !errors.Is(err, sqltable.ErrInvalidOptions) {
			t.Errorf("Open of Stored json.RawMessage values: %v, want an error wrapping ErrInvalidOptions", err)
		}
		_, err = sqltable.Open[[]byte](ctx, db, newName(), &sqltable.Options{Dialect: d, Codec: 9, Stored: true})
		wantErr(t, err, "invalid codec")

		// The value column must suit the codec, as without Stored.
		gob := open[int](t, db, d, &sqltable.Options{Codec: codec.Gob})
		_, err = sqltable.Open[[]byte](ctx, db, gob.Name(), &sqltable.Options{Dialect: d, Stored: true})
		wantErr(t, err, "the table does not match the archive layout: value is ", "(codec json)")
		// A table it creates has the column of its codec.
		for _, c := range []codec.Codec{codec.JSON, codec.Gob} {
			stored := openStored(t, db, d, newName(), c)
			if _, err := sqltable.Open[int](ctx, db, stored.Name(), &sqltable.Options{Dialect: d, Codec: c}); err != nil {
				t.Fatalf("Open of a %v table that Stored made: %v", c, err)
			}
		}
	})
}

// CopyTo moves the stored values between a Table of Options.Stored and
// one without, and re-encodes them only when the codecs differ.
func TestStoredCopyTo(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		copyTo := func(src, dst *sqltable.Table[[]byte]) {
			t.Helper()
			if n, err := src.CopyTo(ctx, dst, nil); err != nil || n != 1 {
				t.Fatalf("CopyTo %s to %s = %d, %v", src.Name(), dst.Name(), n, err)
			}
		}
		// The same codec: the bytes as they are.
		for _, c := range []codec.Codec{codec.JSON, codec.Gob} {
			typed := open[[]byte](t, db, d, &sqltable.Options{Codec: c})
			mustPut(t, typed, "k", []byte("<value>"))
			stored := openStored(t, db, d, newName(), c)
			copyTo(typed, stored)
			back := open[[]byte](t, db, d, &sqltable.Options{Codec: c})
			copyTo(stored, back)
			mustGet(t, back, "k", []byte("<value>"))
		}
		// Codecs that differ: the stored bytes are the []byte value.
		stored := openStored(t, db, d, newName(), codec.Raw)
		mustPut(t, stored, "k", []byte("\x00\xffbytes"))
		typed := open[[]byte](t, db, d, &sqltable.Options{Codec: codec.JSON})
		copyTo(stored, typed)
		mustGet(t, typed, "k", []byte("\x00\xffbytes"))
		gob := open[[]byte](t, db, d, &sqltable.Options{Codec: codec.Gob})
		mustPut(t, gob, "k", []byte("gob"))
		copyTo(gob, stored)
		mustGet(t, stored, "k", []byte("gob"))
	})
}

// The writes of a Table of Options.Stored are recorded in the change feed
// as those of any Table.
func TestStoredFeed(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
			t.Fatal(err)
		}
		tbl := openStored(t, db, d, newName(), codec.JSON)
		mustPut(t, tbl, "a", []byte("1")) // new: no record
		mustPut(t, tbl, "a", []byte("2"))
		if err := tbl.Delete(ctx, keymap.NewKey("a")); err != nil {
			t.Fatal(err)
		}
		rows := []sqltable.Row[[]byte]{{Key: keymap.NewKey("b"), Value: []byte("3")}}
		for range 2 { // the second overwrites
			if err := tbl.PutRows(ctx, rows); err != nil {
				t.Fatal(err)
			}
		}
		if err := tbl.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := db.QueryContext(ctx, d.Rebind("SELECT op FROM klepto_changes WHERE table_name = ? ORDER BY id"), tbl.Name())
		if err != nil {
			t.Fatal(err)
		}
		defer got.Close()
		var ops []string
		for got.Next() {
			var op string
			if err := got.Scan(&op); err != nil {
				t.Fatal(err)
			}
			ops = append(ops, op)
		}
		if err := got.Err(); err != nil {
			t.Fatal(err)
		}
		if want := []string{"update", "delete", "import", "clear"}; !reflect.DeepEqual(ops, want) {
			t.Fatalf("changes recorded: %q, want %q", ops, want)
		}
	})
}

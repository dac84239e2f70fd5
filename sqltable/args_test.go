package sqltable_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// Arguments with U+0000, refused by PostgreSQL's JSONB, and arguments
// that look like the wrapper that holds them are stored on every database,
// by PutArgs and PutRows, and Rows gives their JSON back exactly.
func TestArgsWithNUL(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		tbl := open[int](t, db, d, nil)
		ctx := t.Context()
		if err := tbl.PutArgs(ctx, keymap.NewKey("put"), []string{"a\x00b"}, 1); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"put": `[["a\u0000b"]]`, "nul": `{"s":"\u0000"}`, "wrapper": `{"klepto:json":"[1]"}`}
		err := tbl.PutRows(ctx, []sqltable.Row[int]{
			{Key: keymap.NewKey("nul"), Args: []byte(want["nul"])},
			{Key: keymap.NewKey("wrapper"), Args: []byte(want["wrapper"])},
		})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for r, err := range tbl.Rows(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Args) != want[r.Key.Text] {
				t.Errorf("args of %q = %s, want %s", r.Key.Text, r.Args, want[r.Key.Text])
			}
			n++
		}
		if n != len(want) {
			t.Fatalf("Rows yielded %d rows, want %d", n, len(want))
		}
	})
}

// A JSON value holding U+0000 is stored where the JSON column can hold it;
// on PostgreSQL, whose JSONB cannot, Put and CheckValue refuse it with an
// error matching codec.ErrEncode, so that a memo neither keeps nor retries
// it. A value holding the text \u0000 (a backslash, then u0000) is stored
// everywhere.
func TestValueWithNUL(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		tbl := open[string](t, db, d, nil)
		ctx := t.Context()
		key := keymap.NewKey("nul")
		err := tbl.Put(ctx, key, "a\x00b")
		cerr := tbl.CheckValue("a\x00b")
		if d == dialect.Postgres {
			if !errors.Is(err, codec.ErrEncode) || !errors.Is(cerr, codec.ErrEncode) {
				t.Errorf("Put = %v, CheckValue = %v; want errors matching codec.ErrEncode", err, cerr)
			}
		} else {
			if err != nil || cerr != nil {
				t.Fatalf("Put = %v, CheckValue = %v", err, cerr)
			}
			if v, ok, err := tbl.Get(ctx, key); err != nil || !ok || v != "a\x00b" {
				t.Errorf("Get = %q, %v, %v", v, ok, err)
			}
		}
		text := keymap.NewKey("text")
		if err := tbl.Put(ctx, text, `\u0000`); err != nil {
			t.Fatalf(`Put(\u0000 as text): %v`, err)
		}
		if v, ok, err := tbl.Get(ctx, text); err != nil || !ok || v != `\u0000` {
			t.Errorf("Get = %q, %v, %v", v, ok, err)
		}
	})
}

package sqltable_test

import (
	"database/sql"
	"testing"

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

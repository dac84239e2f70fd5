package sqlarchive_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// A call whose string argument holds a NUL byte is archived on every
// database, PostgreSQL's JSONB included: another process loads it, the
// args column holds valid JSON by the database's own parser, and the key
// and the arguments read back exactly.
func TestMemoizeNULArgument(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		var calls atomic.Int64
		length := func(_ context.Context, s string) (int, error) {
			calls.Add(1)
			return len(s), nil
		}
		const arg = "a\x00b\\u0000c"
		first, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: d})
		if err != nil {
			t.Fatal(err)
		}
		m, err := sqlarchive.Memoize(ctx, first, "length", length, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := m.Call(ctx, arg); err != nil || v != len(arg) {
			t.Fatalf("Call = %d, %v", v, err)
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}

		// Another process: another Archive and memo, an empty memory.
		second := open(t, db, d, nil)
		m2, err := sqlarchive.Memoize(ctx, second, "length", length, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := m2.Call(ctx, arg); err != nil || v != len(arg) {
			t.Fatalf("Call in another process = %d, %v", v, err)
		}
		if info := m2.Info(); info.Loads != 1 || calls.Load() != 1 {
			t.Fatalf("Info = %+v after %d calls, want 1 load and 1 call", info, calls.Load())
		}

		var valid bool
		var stored string
		query := map[*dialect.Dialect]string{
			dialect.SQLite:   `SELECT json_valid(args) = 1, args FROM length`,
			dialect.Postgres: `SELECT jsonb_typeof(args) IS NOT NULL, args::text FROM length`,
			dialect.MySQL:    `SELECT JSON_VALID(args) = 1, args FROM length`,
		}[d]
		if err := db.QueryRowContext(ctx, query).Scan(&valid, &stored); err != nil || !valid {
			t.Fatalf("the args column %q: valid JSON %v, %v", stored, valid, err)
		}

		km, err := keymap.NewString(nil)
		if err != nil {
			t.Fatal(err)
		}
		key, err := km.Key(arg)
		if err != nil {
			t.Fatal(err)
		}
		checkRows := func(a *sqlarchive.Archive) {
			t.Helper()
			tbl, _, err := sqlarchive.Stored(ctx, a, "length", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Close()
			n := 0
			for r, err := range tbl.Rows(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				var args []string // the arguments, positional
				if err := json.Unmarshal(r.Args, &args); err != nil || r.Key != key || len(args) != 1 || args[0] != arg {
					t.Fatalf("row of key %q, args %s (%v, %v); want key %q and args %q", r.Key.Text, r.Args, args, err, key.Text, arg)
				}
			}
			if n != 1 {
				t.Fatalf("%d rows, want 1", n)
			}
		}
		checkRows(second)

		// Copied to PostgreSQL, the call reads back alike.
		pg := open(t, sqltest.Postgres(t), dialect.Postgres, nil)
		if res, err := sqlarchive.Copy(ctx, pg, second, "length", nil); err != nil || res.Entries != 1 {
			t.Fatalf("Copy to PostgreSQL: %+v, %v", res, err)
		}
		checkRows(pg)
	})
}

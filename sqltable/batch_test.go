package sqltable_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// storedColumns returns key_hash, key_text, value and size_bytes of every
// row of table, in key hash order, as text.
func storedColumns(t *testing.T, db *sql.DB, d *dialect.Dialect, table string) []string {
	t.Helper()
	c := d.QuoteIdent
	rows, err := db.QueryContext(t.Context(), "SELECT "+c("key_hash")+", "+c("key_text")+", "+c("value")+", "+
		c("size_bytes")+" FROM "+c(table)+" ORDER BY "+c("key_hash"))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var hash, text, value []byte
		var size int64
		if err := rows.Scan(&hash, &text, &value, &size); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%x %q %q %d", hash, text, value, size))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// PutMany stores the bytes Put stores, in batches of several statements,
// with values that need escaping, short and of 10 KB.
func TestPutManyStoresWhatPutStores(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		// Small values on PostgreSQL go as one JSON array, large ones as
		// multi-row VALUES: both are checked.
		for _, tc := range []struct {
			codec codec.Codec
			big   int // every big-th value is 10 KB
		}{{codec.JSON, 100}, {codec.JSON, 1}, {codec.Gob, 100}} {
			t.Run(fmt.Sprintf("%s/big%d", tc.codec, tc.big), func(t *testing.T) {
				ctx := t.Context()
				opts := &sqltable.Options{Codec: tc.codec}
				one, many := open[string](t, db, d, opts), open[string](t, db, d, opts)
				var entries []cache.Entry[string]
				for i := range 1100 {
					v := fmt.Sprintf(`"q\uote" \back\slash é ☃ {[%d]}`, i)
					if i%tc.big == 0 {
						v += strings.Repeat(`x"\`, 3400)
					}
					text := fmt.Sprintf(`(s="%d\\")`, i)
					if i%7 == 0 {
						text = fmt.Sprintf("(s=\"%d\t\x01\n\u2028\")", i)
					}
					k := keymap.NewKey(text)
					entries = append(entries, cache.Entry[string]{Key: k, Value: v})
					if err := one.Put(ctx, k, v); err != nil {
						t.Fatal(err)
					}
				}
				if err := many.PutMany(ctx, entries); err != nil {
					t.Fatal(err)
				}
				got, want := storedColumns(t, db, d, many.Name()), storedColumns(t, db, d, one.Name())
				if len(want) != len(entries) || !slices.Equal(got, want) {
					t.Fatalf("PutMany stored %d rows, Put %d; the first rows differ or not: %.200q, %.200q",
						len(got), len(want), got[:1], want[:1])
				}
				// Overwritten, too.
				for i := range entries {
					entries[i].Value += "!"
					if err := one.Put(ctx, entries[i].Key, entries[i].Value); err != nil {
						t.Fatal(err)
					}
				}
				if err := many.PutMany(ctx, entries); err != nil {
					t.Fatal(err)
				}
				if got, want := storedColumns(t, db, d, many.Name()), storedColumns(t, db, d, one.Name()); !slices.Equal(got, want) {
					t.Fatalf("after an overwrite, PutMany and Put stored different rows")
				}
			})
		}
	})
}

// On PostgreSQL, PutMany sends small JSON values as one JSON array when the
// value column is jsonb, and stores what Put stores; a json column, which
// keeps the text as sent, gets multi-row VALUES, which keep it too, and
// CopyTo keeps it as well.
func TestPutManyJSONArray(t *testing.T) {
	db, counter := sqltest.Counted(t, dialect.Postgres)
	ctx := t.Context()
	values := [][]byte{
		[]byte(`{"zz":1.5,"a":"x<y","bb":[1,2],"a2":1e2}`),
		[]byte(`"caf\u00e9 \"q\" \\ ☃"`),
		[]byte(`[true,null,{"k":"v"}]`),
	}
	for _, column := range []string{"jsonb", "json"} {
		t.Run(column, func(t *testing.T) {
			opts := &sqltable.Options{Stored: true}
			var tables [3]*sqltable.Table[[]byte]
			for i := range tables {
				tbl := open[[]byte](t, db, dialect.Postgres, opts)
				if column == "json" { // as another tool may have made it
					name := tbl.Name()
					_ = tbl.Close()
					if _, err := db.ExecContext(ctx, `ALTER TABLE `+dialect.Postgres.QuoteIdent(name)+` ALTER COLUMN value TYPE json`); err != nil {
						t.Fatal(err)
					}
					var err error
					if tbl, err = sqltable.Open[[]byte](ctx, db, name, &sqltable.Options{Dialect: dialect.Postgres, Stored: true}); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = tbl.Close() })
				}
				tables[i] = tbl
			}
			one, many, copied := tables[0], tables[1], tables[2]
			var entries []cache.Entry[[]byte]
			for i := range 300 {
				k := keymap.NewKey(fmt.Sprintf("(s=\"%d\t\\\"\")", i))
				v := values[i%len(values)]
				entries = append(entries, cache.Entry[[]byte]{Key: k, Value: v})
				if err := one.Put(ctx, k, v); err != nil {
					t.Fatal(err)
				}
			}
			counter.Reset()
			if err := many.PutMany(ctx, entries); err != nil {
				t.Fatal(err)
			}
			array := slices.ContainsFunc(counter.Statements(), func(q string) bool { return strings.Contains(q, "jsonb_array_elements") })
			if want := column == "jsonb"; array != want {
				t.Errorf("PutMany sent the JSON array: %v, want %v", array, want)
			}
			got, want := storedColumns(t, db, dialect.Postgres, many.Name()), storedColumns(t, db, dialect.Postgres, one.Name())
			if len(got) != len(want) {
				t.Fatalf("PutMany stored %d rows, Put %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("PutMany stored %q, Put %q", got[i], want[i])
				}
			}
			// CopyTo, and imports, send arrays of the columns' types: into a
			// json column they keep the text as sent. (From a jsonb column
			// it copies the text as read, with the spaces jsonb adds, and
			// its size.)
			if column != "json" {
				return
			}
			if _, err := one.CopyTo(ctx, copied, nil); err != nil {
				t.Fatal(err)
			}
			got = storedColumns(t, db, dialect.Postgres, copied.Name())
			if len(got) != len(want) {
				t.Fatalf("CopyTo stored %d rows, Put %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("CopyTo stored %q, Put %q", got[i], want[i])
				}
			}
		})
	}
}

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

package sqltable_test

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// A row whose key_hash is not the hash of its key_text (written by another
// tool) is yielded by Rows as an error naming the key, instead of being
// re-keyed by an export and import, or breaking the paging.
func TestRowsRefusesForeignHash(t *testing.T) {
	ctx := t.Context()
	db := sqltest.SQLite(t)
	table, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: dialect.SQLite})
	if err != nil {
		t.Fatal(err)
	}
	defer table.Close()
	if err := table.Put(ctx, keymap.NewKey("(n=1)"), 1); err != nil {
		t.Fatal(err)
	}
	wrong := sha256.Sum256([]byte("something else"))
	if _, err := db.ExecContext(ctx, `INSERT INTO fib (key_hash, key_text, value) VALUES (?, '(n=2)', '1')`, wrong[:]); err != nil {
		t.Fatal(err)
	}
	var rowErr error
	for _, err := range table.Rows(ctx) {
		if err != nil {
			rowErr = err
		}
	}
	if rowErr == nil || !strings.Contains(rowErr.Error(), `bad row, key "(n=2)": key_hash`) {
		t.Fatalf("Rows over a foreign row: %v, want an error naming the key and its hash", rowErr)
	}
}

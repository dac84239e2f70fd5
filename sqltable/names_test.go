package sqltable_test

import (
	"database/sql"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// Index names never take a name an archive table could want: tables "a"
// and "a_expires_at" live side by side.
func TestIndexNamesLeaveTableNamesFree(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		for _, name := range []string{"a", "a_expires_at"} {
			table, err := sqltable.Open[int](t.Context(), db, name, &sqltable.Options{Dialect: d})
			if err != nil {
				t.Fatalf("Open(%q): %v", name, err)
			}
			defer table.Close()
			if err := table.Put(t.Context(), keymap.NewKey("(1)"), 1); err != nil {
				t.Fatalf("Put into %q: %v", name, err)
			}
		}
	})
}

package sqltable_test

import (
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// A Table works over an application's *sqlx.DB as over its *sql.DB.
func TestSQLX(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			fresh := sqltest.Fresh(t, d)
			db := sqlx.NewDb(fresh.DB, fresh.Driver)
			table, err := sqltable.Open[string](t.Context(), db, "greetings", &sqltable.Options{Dialect: d})
			if err != nil {
				t.Fatal(err)
			}
			defer table.Close()
			k := keymap.NewKey(`("world")`)
			if err := table.Put(t.Context(), k, "hello"); err != nil {
				t.Fatal(err)
			}
			if v, ok, err := table.Get(t.Context(), k); err != nil || !ok || v != "hello" {
				t.Fatalf("Get = %q, %v, %v; want hello", v, ok, err)
			}
			var n int
			if err := db.GetContext(t.Context(), &n, "SELECT COUNT(*) FROM greetings"); err != nil || n != 1 {
				t.Fatalf("sqlx sees %d rows, %v; want 1", n, err)
			}
		})
	}
}

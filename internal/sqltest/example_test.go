package sqltest_test

import (
	"database/sql"
	"database/sql/driver"
	"sync/atomic"
	"testing"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// A test that runs on every database: SQLite always, PostgreSQL and MySQL
// when their DSNs are set.
func ExampleEach() {
	_ = func(t *testing.T) {
		sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
			stmts, err := d.CreateTable("fib", codec.JSON)
			if err != nil {
				t.Fatal(err)
			}
			for _, stmt := range stmts {
				if _, err := db.ExecContext(t.Context(), stmt); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// A test of a retry path: the first exec fails as if the network dropped.
func ExampleFaulty() {
	_ = func(t *testing.T) {
		var calls atomic.Int32
		db := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
			if op == sqltest.OpExec && calls.Add(1) == 1 {
				return driver.ErrBadConn
			}
			return nil
		})
		if _, err := db.ExecContext(t.Context(), `CREATE TABLE t (x INTEGER)`); err != nil {
			t.Fatal(err) // database/sql retried on a new connection
		}
	}
}

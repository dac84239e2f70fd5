package sqltest_test

import (
	"testing"

	"github.com/klepto-sql/klepto/internal/sqltest"
)

// PgBouncerWith gives each test a database of its own, empty, through the
// pooler, with either driver.
func TestPgBouncer(t *testing.T) {
	for _, driver := range []string{"postgres", "pgx"} {
		t.Run(driver, func(t *testing.T) {
			a, b := sqltest.PgBouncerWith(t, driver), sqltest.PgBouncerWith(t, driver)
			if a.Name == b.Name {
				t.Fatalf("two databases named %s", a.Name)
			}
			ctx := t.Context()
			if _, err := a.DB.ExecContext(ctx, `CREATE TABLE t (n int)`); err != nil {
				t.Fatal(err)
			}
			if _, err := a.DB.ExecContext(ctx, `INSERT INTO t VALUES ($1)`, 7); err != nil {
				t.Fatal(err)
			}
			var name string
			var n int
			if err := a.DB.QueryRowContext(ctx, `SELECT current_database(), (SELECT n FROM t)`).Scan(&name, &n); err != nil {
				t.Fatal(err)
			}
			if name != a.Name || n != 7 {
				t.Fatalf("database %s holds %d, want %s holding 7", name, n, a.Name)
			}
			var tables int
			if err := b.DB.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Fatalf("the second database has %d tables, want none", tables)
			}
		})
	}
}

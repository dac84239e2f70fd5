package sqltest_test

import (
	"database/sql"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// driverPkg returns the package path of the driver behind db.
func driverPkg(db *sql.DB) string {
	t := reflect.TypeOf(db.Driver())
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

// TestDriverChoice checks that KLEPTO_TEST_SQLITE_DRIVER and
// KLEPTO_TEST_PG_DRIVER choose the driver of every pool sqltest opens, and
// of the Database it describes.
func TestDriverChoice(t *testing.T) {
	sqlites := []struct{ env, driver, pkg string }{
		{"", "sqlite3", "github.com/mattn/go-sqlite3"},
		{"mattn", "sqlite3", "github.com/mattn/go-sqlite3"},
		{"modernc", "sqlite", "modernc.org/sqlite"},
	}
	for _, c := range sqlites {
		t.Run("sqlite="+c.env, func(t *testing.T) {
			t.Setenv(sqltest.SQLiteDriverEnv, c.env)
			fresh := sqltest.Fresh(t, dialect.SQLite)
			if fresh.Driver != c.driver {
				t.Errorf("Fresh.Driver = %q, want %q", fresh.Driver, c.driver)
			}
			writer, reader := sqltest.SQLitePools(t)
			faulty := sqltest.Faulty(t, func(sqltest.Op, string) error { return nil })
			for name, db := range map[string]*sql.DB{"Fresh": fresh.DB, "SQLite": sqltest.SQLite(t),
				"writer": writer, "reader": reader, "Faulty": faulty} {
				if got := driverPkg(db); got != c.pkg {
					t.Errorf("%s pool's driver is from %s, want %s", name, got, c.pkg)
				}
				if err := db.PingContext(t.Context()); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			// The Database's driver name and DSN open it again.
			other, err := sql.Open(fresh.Driver, fresh.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if _, err := fresh.DB.ExecContext(t.Context(), "CREATE TABLE t (k INTEGER)"); err != nil {
				t.Fatal(err)
			}
			if tables, err := dialect.SQLite.Tables(t.Context(), other); err != nil || len(tables) != 1 {
				t.Errorf("reopened database has tables %q, %v; want t", tables, err)
			}
		})
	}
	pgs := []struct{ env, driver, pkg string }{
		{"", "postgres", "github.com/lib/pq"},
		{"pq", "postgres", "github.com/lib/pq"},
		{"pgx", "pgx", "github.com/jackc/pgx/v5/stdlib"},
	}
	for _, c := range pgs {
		t.Run("pg="+c.env, func(t *testing.T) {
			t.Setenv(sqltest.PostgresDriverEnv, c.env)
			fresh := sqltest.Fresh(t, dialect.Postgres)
			if fresh.Driver != c.driver {
				t.Errorf("Fresh.Driver = %q, want %q", fresh.Driver, c.driver)
			}
			var schema string
			if err := fresh.DB.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&schema); err != nil || schema != fresh.Name {
				t.Errorf("current_schema() = %q, %v; want %s", schema, err, fresh.Name)
			}
			other, err := sql.Open(fresh.Driver, fresh.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if got := driverPkg(other); got != c.pkg {
				t.Errorf("the DSN's pool's driver is from %s, want %s", got, c.pkg)
			}
			if err := other.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&schema); err != nil || schema != fresh.Name {
				t.Errorf("reopened current_schema() = %q, %v; want %s", schema, err, fresh.Name)
			}
		})
	}
}

// TestUnknownDriver checks that a driver name sqltest does not know fails
// the test rather than falling back to the default.
func TestUnknownDriver(t *testing.T) {
	for env, open := range map[string]func(testing.TB) *sql.DB{
		sqltest.SQLiteDriverEnv:   sqltest.SQLite,
		sqltest.PostgresDriverEnv: sqltest.Postgres,
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "odbc")
			f := &fakeTB{TB: t}
			var wg sync.WaitGroup
			wg.Go(func() { open(f) })
			wg.Wait()
			if !strings.Contains(f.failed, "want") || f.skipped != "" {
				t.Errorf("%s=odbc: failed %q, skipped %q; want a failure", env, f.failed, f.skipped)
			}
		})
	}
}

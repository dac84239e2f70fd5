package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/klepto-sql/klepto/dialect"
	_ "github.com/lib/pq"           // registers "postgres"
	_ "github.com/mattn/go-sqlite3" // registers "sqlite3"
)

// The variables naming the database servers, those of the main module's
// tests: a github.com/lib/pq DSN, for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable, and a
// github.com/go-sql-driver/mysql DSN, for example
// root@tcp(127.0.0.1:3306)/test?parseTime=true. KLEPTO_TEST_REQUIRE_DBS=1
// turns the skip of a server whose DSN is missing into a failure.
const (
	postgresEnv = "KLEPTO_TEST_POSTGRES_DSN"
	mysqlEnv    = "KLEPTO_TEST_MYSQL_DSN"
	requireEnv  = "KLEPTO_TEST_REQUIRE_DBS"
)

// benchDB is a database the SQL benchmarks run on.
type benchDB struct {
	d    *dialect.Dialect // its name names the sub-benchmarks: sqlite, postgres, mysql
	env  string           // the variable holding the server's DSN; "" for SQLite
	open func(b *testing.B, dsn string) *sql.DB
}

// benchDBs are the databases, in the order the benchmarks run them.
var benchDBs = []benchDB{
	{dialect.SQLite, "", openSQLite},
	{dialect.Postgres, postgresEnv, openPostgres},
	{dialect.MySQL, mysqlEnv, openMySQL},
}

// eachDB runs fn as a sub-benchmark named after each database of benchDBs.
// A server whose variable is not set is skipped, naming the variable, or
// fails under KLEPTO_TEST_REQUIRE_DBS=1.
func eachDB(b *testing.B, fn func(b *testing.B, db benchDB)) {
	for _, db := range benchDBs {
		b.Run(db.d.Name(), func(b *testing.B) {
			if db.env != "" && os.Getenv(db.env) == "" {
				if v := os.Getenv(requireEnv); v != "" && v != "0" {
					b.Fatalf("%s=%s but %s is not set", requireEnv, v, db.env)
				}
				b.Skipf("set %s to run against %s", db.env, db.d.Name())
			}
			fn(b, db)
		})
	}
}

// fresh returns a pool on a new, empty database of db: a SQLite file in
// b.TempDir(), a PostgreSQL schema or a MySQL database of its own, dropped
// when the benchmark ends.
func (db benchDB) fresh(b *testing.B) *sql.DB {
	b.Helper()
	return db.open(b, os.Getenv(db.env))
}

// uniqueName returns a new schema or database name.
func uniqueName() string { return fmt.Sprintf("klepto_bench_%016x", rand.Uint64()) }

// openSQLite returns a pool on a new SQLite file, with dialect.SQLiteDSN's
// settings, closed when the benchmark ends.
func openSQLite(b *testing.B, _ string) *sql.DB {
	b.Helper()
	return openPool(b, "sqlite3", dialect.SQLiteDSN(filepath.Join(b.TempDir(), "memo.db")))
}

// openPostgres creates a new schema in the database of dsn and returns a
// pool whose connections have it as their search_path (lib/pq sends the
// DSN's unknown parameters as run-time parameters). The pool is closed and
// the schema dropped, with what it holds, when the benchmark ends.
func openPostgres(b *testing.B, dsn string) *sql.DB {
	b.Helper()
	admin := openPool(b, "postgres", dsn)
	schema := uniqueName()
	quoted := dialect.Postgres.QuoteIdent(schema)
	serverExec(b, admin, "CREATE SCHEMA "+quoted, "DROP SCHEMA IF EXISTS "+quoted+" CASCADE")
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// A key=value DSN.
		return openPool(b, "postgres", dsn+" search_path="+schema)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return openPool(b, "postgres", u.String())
}

// openMySQL creates a new database (utf8mb4, utf8mb4_bin) on the server of
// dsn and returns a pool on it, with the DSN's other parameters. The pool is
// closed and the database dropped when the benchmark ends.
func openMySQL(b *testing.B, dsn string) *sql.DB {
	b.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		b.Fatalf("parse %s: %v", mysqlEnv, err)
	}
	admin := openPool(b, "mysql", dsn)
	name := uniqueName()
	quoted := dialect.MySQL.QuoteIdent(name)
	serverExec(b, admin, "CREATE DATABASE "+quoted+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
		"DROP DATABASE IF EXISTS "+quoted)
	cfg.DBName = name
	return openPool(b, "mysql", cfg.FormatDSN())
}

// serverExec runs create on admin, and drop when the benchmark ends, after
// the pools opened later are closed.
func serverExec(b *testing.B, admin *sql.DB, create, drop string) {
	b.Helper()
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, create); err != nil {
		b.Fatalf("%s: %v", create, err)
	}
	b.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, drop); err != nil {
			b.Errorf("%s: %v", drop, err)
		}
	})
}

// openPool opens and pings a pool, closed when the benchmark ends.
func openPool(b *testing.B, driverName, dsn string) *sql.DB {
	b.Helper()
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		b.Fatalf("open %s: %v", driverName, err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(context.Background()); err != nil {
		b.Fatalf("connect to %s: %v", driverName, err)
	}
	return db
}

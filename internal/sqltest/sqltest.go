package sqltest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/lib/pq"
	_ "github.com/mattn/go-sqlite3" // registers "sqlite3"
	_ "modernc.org/sqlite"          // registers "sqlite"

	"github.com/klepto-sql/klepto/dialect"
)

// Environment variables that gate the tests against database servers.
const (
	// PostgresEnv holds a lib/pq DSN, for example
	// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
	PostgresEnv = "KLEPTO_TEST_POSTGRES_DSN"
	// MySQLEnv holds a go-sql-driver/mysql DSN, for example
	// root@tcp(127.0.0.1:3306)/test?parseTime=true.
	MySQLEnv = "KLEPTO_TEST_MYSQL_DSN"
	// RequireEnv, set to 1, turns the skip of a test whose DSN is missing
	// into a failure, so CI can never skip a database silently.
	RequireEnv = "KLEPTO_TEST_REQUIRE_DBS"
	// PostgresDriverEnv chooses the PostgreSQL driver of every pool this
	// package opens: pq (github.com/lib/pq, driver "postgres", the default)
	// or pgx (github.com/jackc/pgx/v5/stdlib, driver "pgx").
	PostgresDriverEnv = "KLEPTO_TEST_PG_DRIVER"
	// SQLiteDriverEnv chooses the SQLite driver of every pool this package
	// opens: mattn (github.com/mattn/go-sqlite3, driver "sqlite3", the
	// default) or modernc (modernc.org/sqlite, driver "sqlite").
	SQLiteDriverEnv = "KLEPTO_TEST_SQLITE_DRIVER"
)

// PostgresDriver returns the database/sql driver name chosen by
// KLEPTO_TEST_PG_DRIVER: "postgres" (lib/pq) or "pgx". Any other value
// fails the test.
func PostgresDriver(tb testing.TB) string {
	tb.Helper()
	switch v := os.Getenv(PostgresDriverEnv); v {
	case "", "pq":
		return "postgres"
	case "pgx":
		return "pgx"
	default:
		tb.Fatalf("sqltest: %s=%q: want pq or pgx", PostgresDriverEnv, v)
		return ""
	}
}

// SQLiteDriver returns the database/sql driver name chosen by
// KLEPTO_TEST_SQLITE_DRIVER: "sqlite3" (mattn/go-sqlite3) or "sqlite"
// (modernc.org/sqlite). Any other value fails the test.
func SQLiteDriver(tb testing.TB) string {
	tb.Helper()
	switch v := os.Getenv(SQLiteDriverEnv); v {
	case "", "mattn":
		return "sqlite3"
	case "modernc":
		return "sqlite"
	default:
		tb.Fatalf("sqltest: %s=%q: want mattn or modernc", SQLiteDriverEnv, v)
		return ""
	}
}

// SQLiteDSN returns the data source name, for the driver [SQLiteDriver]
// chooses, of a writer pool on the database file at path:
// [dialect.SQLiteDSN] or [dialect.ModerncSQLiteDSN].
func SQLiteDSN(tb testing.TB, path string) string {
	tb.Helper()
	if SQLiteDriver(tb) == "sqlite" {
		return dialect.ModerncSQLiteDSN(path)
	}
	return dialect.SQLiteDSN(path)
}

// SQLiteReaderDSN is [SQLiteDSN] for a read-only pool:
// [dialect.SQLiteReaderDSN] or [dialect.ModerncSQLiteReaderDSN].
func SQLiteReaderDSN(tb testing.TB, path string) string {
	tb.Helper()
	if SQLiteDriver(tb) == "sqlite" {
		return dialect.ModerncSQLiteReaderDSN(path)
	}
	return dialect.SQLiteReaderDSN(path)
}

// dialects lists the dialects [Each] runs, in order.
var dialects = []*dialect.Dialect{dialect.SQLite, dialect.Postgres, dialect.MySQL}

// Each runs fn as a subtest named after each dialect (sqlite, postgres,
// mysql), with a fresh database from [Open]. Server subtests skip, or fail
// under KLEPTO_TEST_REQUIRE_DBS=1, when their DSN is not set.
func Each(t *testing.T, fn func(t *testing.T, db *sql.DB, d *dialect.Dialect)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d.Name(), func(t *testing.T) {
			fn(t, Open(t, d), d)
		})
	}
}

// Open returns a fresh, empty database of dialect d: [SQLite], [Postgres] or
// [MySQL].
func Open(tb testing.TB, d *dialect.Dialect) *sql.DB {
	tb.Helper()
	switch d {
	case dialect.SQLite:
		return SQLite(tb)
	case dialect.Postgres:
		return Postgres(tb)
	case dialect.MySQL:
		return MySQL(tb)
	}
	tb.Fatalf("sqltest: unknown dialect %v", d)
	return nil
}

// Database is a fresh, empty database made for one test, with what another
// process needs to open it too.
type Database struct {
	DB      *sql.DB          // the test's pool, closed when the test ends
	Dialect *dialect.Dialect //
	Driver  string           // the database/sql driver name: sqlite3 or sqlite, postgres or pgx, mysql
	DSN     string           // the driver's data source name of this database
	Name    string           // the SQLite file's path, the PostgreSQL schema or the MySQL database
}

// Fresh returns a fresh, empty database of dialect d, as [Open] does, with
// its driver name and DSN, so that a test can hand it to a child process or
// a command-line client. It skips or fails as [Postgres] and [MySQL] do.
func Fresh(tb testing.TB, d *dialect.Dialect) Database {
	tb.Helper()
	switch d {
	case dialect.SQLite:
		path := filepath.Join(tb.TempDir(), "test.db")
		dsn := SQLiteDSN(tb, path)
		return Database{DB: openSQLite(tb, dsn), Dialect: d, Driver: SQLiteDriver(tb), DSN: dsn, Name: path}
	case dialect.Postgres:
		return postgres(tb)
	case dialect.MySQL:
		return mySQL(tb)
	}
	tb.Fatalf("sqltest: unknown dialect %v", d)
	return Database{}
}

// Dialects returns the dialects [Each] runs, in order: SQLite, PostgreSQL,
// MySQL.
func Dialects() []*dialect.Dialect { return slices.Clone(dialects) }

// SQLite returns a pool on a new database file in tb.TempDir(), opened with
// the driver [SQLiteDriver] chooses and [SQLiteDSN]. The pool has no connection limit, so tests can hold
// several connections; it is closed when the test ends.
func SQLite(tb testing.TB) *sql.DB {
	tb.Helper()
	return SQLiteAt(tb, filepath.Join(tb.TempDir(), "test.db"))
}

// SQLiteAt returns a pool, opened as [SQLite] opens one, on the database
// file at path, which is created if missing. Two pools on one path stand for
// two processes sharing a file. The pool is closed when the test ends.
func SQLiteAt(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	return openSQLite(tb, SQLiteDSN(tb, path))
}

// SQLitePools returns the recommended pair of pools on a new database file in
// tb.TempDir(): a writer limited to one connection and a read-only reader
// with one connection per CPU (see [dialect.SQLiteDSN]). Both are closed when
// the test ends.
func SQLitePools(tb testing.TB) (writer, reader *sql.DB) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "test.db")
	writer = openSQLite(tb, SQLiteDSN(tb, path))
	writer.SetMaxOpenConns(1)
	// The writer creates the file and switches it to WAL before the reader,
	// which may not write, opens it.
	if err := writer.PingContext(context.Background()); err != nil {
		tb.Fatalf("sqltest: open sqlite writer: %v", err)
	}
	reader = openSQLite(tb, SQLiteReaderDSN(tb, path))
	reader.SetMaxOpenConns(runtime.NumCPU())
	return writer, reader
}

func openSQLite(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open(SQLiteDriver(tb), dsn)
	if err != nil {
		tb.Fatalf("sqltest: open sqlite: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(context.Background()); err != nil {
		tb.Fatalf("sqltest: open sqlite %s: %v", dsn, err)
	}
	return db
}

// Postgres returns a pool on a new, empty schema of the PostgreSQL database
// named by KLEPTO_TEST_POSTGRES_DSN, set as the search_path of every
// connection, so tests and test packages running in parallel never see each
// other's tables. The pool is closed and the schema dropped, with all it
// holds, when the test ends.
//
// Without the variable, Postgres calls tb.Skip naming it, or tb.Fatal if
// KLEPTO_TEST_REQUIRE_DBS=1.
func Postgres(tb testing.TB) *sql.DB {
	tb.Helper()
	return postgres(tb).DB
}

func postgres(tb testing.TB) Database {
	tb.Helper()
	driverName := PostgresDriver(tb)
	dsn := requireDSN(tb, PostgresEnv, "PostgreSQL")
	ctx := context.Background()
	admin := openServer(tb, driverName, dsn)
	schema := uniqueName()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+dialect.Postgres.QuoteIdent(schema)); err != nil {
		tb.Fatalf("sqltest: create postgres schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+dialect.Postgres.QuoteIdent(schema)+` CASCADE`); err != nil {
			tb.Errorf("sqltest: drop postgres schema %s: %v", schema, err)
		}
	})

	return schemaDatabase(tb, driverName, PostgresEnv, dsn, schema)
}

// schemaDatabase opens a pool on the PostgreSQL database of dsn, the value
// of the variable env, with search_path set to schema on every connection.
func schemaDatabase(tb testing.TB, driverName, env, dsn, schema string) Database {
	tb.Helper()
	var db *sql.DB
	if driverName == "pgx" {
		// pgx sends the URL's or key=value DSN's unknown parameters, such as
		// search_path, as run-time parameters.
		db = openServer(tb, driverName, withSearchPath(dsn, schema))
	} else {
		cfg, err := pq.NewConfig(dsn)
		if err != nil {
			tb.Fatalf("sqltest: parse %s: %v", env, err)
		}
		if cfg.Runtime == nil {
			cfg.Runtime = map[string]string{}
		}
		cfg.Runtime["search_path"] = schema
		connector, err := pq.NewConnectorConfig(cfg)
		if err != nil {
			tb.Fatalf("sqltest: parse %s: %v", env, err)
		}
		db = openConnector(tb, connector)
	}
	return Database{
		DB:      db,
		Dialect: dialect.Postgres,
		Driver:  driverName,
		DSN:     withSearchPath(dsn, schema),
		Name:    schema,
	}
}

// withSearchPath returns the lib/pq or pgx DSN dsn, a URL or key=value pairs, with
// the run-time parameter search_path set to schema.
func withSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// MySQL returns a pool on a new, empty database (utf8mb4, utf8mb4_bin) of
// the MySQL or MariaDB server named by KLEPTO_TEST_MYSQL_DSN, so tests and
// test packages running in parallel never see each other's tables. The DSN's
// own parameters are kept; only the database name is replaced. The pool is
// closed and the database dropped when the test ends.
//
// Without the variable, MySQL calls tb.Skip naming it, or tb.Fatal if
// KLEPTO_TEST_REQUIRE_DBS=1.
func MySQL(tb testing.TB) *sql.DB {
	tb.Helper()
	return mySQL(tb).DB
}

func mySQL(tb testing.TB) Database {
	tb.Helper()
	return mySQLAt(tb, MySQLEnv, requireDSN(tb, MySQLEnv, "MySQL"))
}

// mySQLAt returns a new database of the server of dsn, the value of the
// variable env.
func mySQLAt(tb testing.TB, env, dsn string) Database {
	tb.Helper()
	ctx := context.Background()
	admin := openServer(tb, "mysql", dsn)
	name := uniqueName()
	quoted := dialect.MySQL.QuoteIdent(name)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+quoted+` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`); err != nil {
		tb.Fatalf("sqltest: create mysql database: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+quoted); err != nil {
			tb.Errorf("sqltest: drop mysql database %s: %v", name, err)
		}
	})

	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		tb.Fatalf("sqltest: parse %s: %v", env, err)
	}
	cfg.DBName = name
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatalf("sqltest: parse %s: %v", env, err)
	}
	return Database{
		DB:      openConnector(tb, connector),
		Dialect: dialect.MySQL,
		Driver:  "mysql",
		DSN:     cfg.FormatDSN(),
		Name:    name,
	}
}

// requireDSN returns the value of env, or skips (fails, under RequireEnv)
// the test when it is not set.
func requireDSN(tb testing.TB, env, server string) string {
	tb.Helper()
	if dsn := os.Getenv(env); dsn != "" {
		return dsn
	}
	if v := os.Getenv(RequireEnv); v != "" && v != "0" {
		tb.Fatalf("%s=%s but %s is not set: cannot run against %s", RequireEnv, v, env, server)
	}
	tb.Skipf("set %s to run against %s", env, server)
	return ""
}

// openServer opens and pings an administrative pool, closed when the test
// ends (after the cleanups registered later, which run first).
func openServer(tb testing.TB, driverName, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		tb.Fatalf("sqltest: open %s: %v", driverName, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(context.Background()); err != nil {
		tb.Fatalf("sqltest: connect to %s: %v", driverName, err)
	}
	return db
}

// openConnector opens and pings the test pool, closed when the test ends.
func openConnector(tb testing.TB, c driver.Connector) *sql.DB {
	tb.Helper()
	db := sql.OpenDB(c)
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(context.Background()); err != nil {
		tb.Fatalf("sqltest: connect: %v", err)
	}
	return db
}

// uniqueName returns a new schema or database name.
func uniqueName() string {
	return fmt.Sprintf("klepto_test_%016x", rand.Uint64())
}

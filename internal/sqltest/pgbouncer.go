package sqltest

import (
	"context"
	"database/sql"
	"net/url"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
)

// PgBouncerEnv holds the URL of a PgBouncer in transaction pooling mode in
// front of PostgreSQL, for example
// postgres://postgres@127.0.0.1:16432/test?sslmode=disable
// (integration/topology/pgbouncer.sh env prints it). The pooler must pass
// any database name on to the server (a "*" entry in its [databases]), so
// that each test has a database of its own.
const PgBouncerEnv = "KLEPTO_TEST_PGBOUNCER_DSN"

// PgBouncer returns a fresh, empty database reached through the PgBouncer
// named by KLEPTO_TEST_PGBOUNCER_DSN, with the driver that [PostgresDriver]
// chooses; see [PgBouncerWith].
func PgBouncer(tb testing.TB) Database {
	tb.Helper()
	return PgBouncerWith(tb, PostgresDriver(tb))
}

// PgBouncerWith returns a fresh, empty database reached through the
// PgBouncer named by KLEPTO_TEST_PGBOUNCER_DSN, with the database/sql driver
// driverName: "postgres" (lib/pq) or "pgx". It creates a database of its own
// on the server, through the pooler, and drops it when the test ends, after
// closing the returned pool. The DSN is the pooler's, with the database's
// name and the parameter a pooler in transaction mode needs (see
// [PgBouncerDSN]).
//
// Without the variable, PgBouncerWith calls tb.Skip naming it, or tb.Fatal
// if KLEPTO_TEST_REQUIRE_DBS=1.
func PgBouncerWith(tb testing.TB, driverName string) Database {
	tb.Helper()
	dsn := requireDSN(tb, PgBouncerEnv, "PgBouncer")
	ctx := context.Background()
	checkTransactionMode(tb, dsn)
	admin := openServer(tb, "postgres", PgBouncerDSN(tb, "postgres", dsn, ""))
	name := uniqueName()
	quoted := dialect.Postgres.QuoteIdent(name)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+quoted); err != nil {
		tb.Fatalf("sqltest: create a database through PgBouncer: %v", err)
	}
	tb.Cleanup(func() {
		// The pooler keeps server connections to the database: FORCE ends them.
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+quoted+` WITH (FORCE)`); err != nil {
			tb.Errorf("sqltest: drop database %s through PgBouncer: %v", name, err)
		}
	})
	own := PgBouncerDSN(tb, driverName, dsn, name)
	return Database{
		DB:      openServer(tb, driverName, own),
		Dialect: dialect.Postgres,
		Driver:  driverName,
		DSN:     own,
		Name:    name,
	}
}

// checkTransactionMode fails the test unless dsn reaches a PgBouncer whose
// pool_mode is transaction, as its admin console, the database pgbouncer,
// reports to the user of dsn (one of its admin_users or stats_users).
func checkTransactionMode(tb testing.TB, dsn string) {
	tb.Helper()
	// Not pinged: the console refuses lib/pq's ping, an empty statement.
	console, err := sql.Open("postgres", PgBouncerDSN(tb, "postgres", dsn, "pgbouncer"))
	if err != nil {
		tb.Fatalf("sqltest: %s: %v", PgBouncerEnv, err)
	}
	defer console.Close()
	rows, err := console.QueryContext(context.Background(), `SHOW CONFIG`)
	if err != nil {
		tb.Fatalf("sqltest: %s: SHOW CONFIG on PgBouncer's admin console: %v", PgBouncerEnv, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		tb.Fatalf("sqltest: %s: SHOW CONFIG: %v", PgBouncerEnv, err)
	}
	mode := ""
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatalf("sqltest: %s: SHOW CONFIG: %v", PgBouncerEnv, err)
		}
		if len(vals) > 1 && vals[0].String == "pool_mode" {
			mode = vals[1].String
		}
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("sqltest: %s: SHOW CONFIG: %v", PgBouncerEnv, err)
	}
	if mode != "transaction" {
		tb.Fatalf("sqltest: %s names a PgBouncer with pool_mode %q, want transaction", PgBouncerEnv, mode)
	}
}

// PgBouncerDSN returns the URL dsn of a pooler in transaction mode for the
// driver driverName, with the database name database unless it is empty:
// for lib/pq ("postgres") with binary_parameters=yes, so that a statement
// with parameters reaches one server connection in one message; for pgx
// with default_query_exec_mode=exec, so that pgx prepares no named
// statement. dsn must be a URL.
func PgBouncerDSN(tb testing.TB, driverName, dsn, database string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("sqltest: %s=%q: want a postgres:// URL", PgBouncerEnv, dsn)
	}
	if database != "" {
		u.Path = "/" + database
	}
	q := u.Query()
	switch driverName {
	case "postgres":
		q.Del("default_query_exec_mode")
		q.Set("binary_parameters", "yes")
	case "pgx":
		q.Del("binary_parameters")
		q.Set("default_query_exec_mode", "exec")
	default:
		tb.Fatalf("sqltest: PgBouncer with driver %q: want postgres or pgx", driverName)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

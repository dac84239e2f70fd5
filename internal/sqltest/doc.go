// Package sqltest is the test plumbing for klepto's SQL packages: fresh,
// isolated databases for each test on SQLite ([SQLite], always available) and
// on PostgreSQL and MySQL servers ([Postgres], [MySQL]) named by
// KLEPTO_TEST_POSTGRES_DSN and KLEPTO_TEST_MYSQL_DSN. A server test skips,
// naming the variable to set, when its DSN is missing, and fails instead
// when KLEPTO_TEST_REQUIRE_DBS=1, as in CI. [Each] runs a test once per
// dialect. [Galera] gives a database of the MariaDB Galera cluster named by
// KLEPTO_TEST_GALERA_DSNS, one pool per node, under the same rule.
//
// Every database is cleaned up when its test ends: SQLite files live in
// tb.TempDir(), a PostgreSQL test gets a schema of its own (set as its
// search_path) and a MySQL test a database of its own, both dropped at the
// end, so test packages can run in parallel against one server.
//
// [PostgresReplica] gives a test a schema on a PostgreSQL primary and a pool
// on its hot standby, named by KLEPTO_TEST_PG_PRIMARY_DSN and
// KLEPTO_TEST_PG_REPLICA_DSN (integration/topology/pg-replica.sh starts
// both), with [Replica.WaitReplay] and [Replica.PauseReplay] to control the
// standby's lag. A pause waits until the other tests of the standby, in any
// process, have ended, and tests that start meanwhile wait for its end, so
// no test runs under another's pause.
//
// [Faulty] wraps a pool's driver to inject errors, such as
// driver.ErrBadConn, into chosen operations. [Counted] gives a fresh
// database through a pool that counts its driver operations and records
// their SQL. [Proxy] stands between a pool and a server, and stalls the
// network between them on demand.
//
// Two variables choose the drivers of every pool this package opens, so that
// the same tests run on each: KLEPTO_TEST_SQLITE_DRIVER, mattn
// (github.com/mattn/go-sqlite3, the default) or modernc (modernc.org/sqlite),
// and KLEPTO_TEST_PG_DRIVER, pq (github.com/lib/pq, the default) or pgx
// (github.com/jackc/pgx/v5/stdlib). Any other value fails the test.
// [Database].Driver names the driver chosen.
//
// This package imports the drivers (go-sqlite3, modernc.org/sqlite, lib/pq,
// pgx, go-sql-driver/mysql) and is for tests only.
package sqltest

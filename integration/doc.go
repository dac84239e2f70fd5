// Package integration holds klepto-sql's end-to-end tests: memoizing
// programs run as separate processes on SQLite, PostgreSQL and MariaDB/MySQL,
// one after the other (a restart is served from the database) and at the
// same time (each reuses the other's results), and the cached rows read back
// with the databases' own command-line clients.
//
// The server tests need KLEPTO_TEST_POSTGRES_DSN and KLEPTO_TEST_MYSQL_DSN
// (see package internal/sqltest); without them they skip, naming the
// variable, unless KLEPTO_TEST_REQUIRE_DBS=1 makes them fail.
package integration

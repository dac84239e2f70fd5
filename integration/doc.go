// Package integration holds klepto-sql's end-to-end tests: memoizing
// programs run as separate processes on SQLite, PostgreSQL and MariaDB/MySQL,
// one after the other (a restart is served from the database) and at the
// same time (each reuses the other's results), and the cached rows read back
// with the databases' own command-line clients.
//
// The tests of sharing between services run memo servers, child processes
// that memoize a function with sqlarchive.Memoize and answer requests on
// stdin, beside the klepto-sql command: a change made in one process, through
// the library or the command, reaches the memory of the others; entries
// expire in memory with their rows; leases make one process compute a key
// while the others wait, and free the key when its leader is killed or its
// clock is off; the change feed stays bounded; missing tables and failing
// connections give clear errors.
//
// The server tests need KLEPTO_TEST_POSTGRES_DSN and KLEPTO_TEST_MYSQL_DSN
// (see package internal/sqltest); without them they skip, naming the
// variable, unless KLEPTO_TEST_REQUIRE_DBS=1 makes them fail. The TestGalera
// tests run one process or pool per node of the MariaDB Galera cluster of
// KLEPTO_TEST_GALERA_DSNS, which topology/galera.sh starts; TestGaleraLoad
// runs only with KLEPTO_TEST_GALERA_LOAD=1, and TestGaleraNodeKilled, which
// kills and restarts a node through topology/galera.sh, only with
// KLEPTO_TEST_GALERA_KILL=1, on its own (no other test may use the cluster
// meanwhile). With -short,
// the largest tests run on fewer keys and changes.
package integration

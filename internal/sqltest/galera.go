package sqltest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/klepto-sql/klepto/dialect"
)

// GaleraEnv holds the go-sql-driver/mysql DSNs of the nodes of a MariaDB
// Galera cluster, separated by commas, one node each, for example
// root@tcp(127.0.0.1:13306)/test?parseTime=true,root@tcp(127.0.0.1:13307)/test?parseTime=true.
// integration/topology/galera.sh starts such a cluster and prints the
// variable.
const GaleraEnv = "KLEPTO_TEST_GALERA_DSNS"

// galeraReplicated is how long [Galera] waits for its new database to
// reach every node.
const galeraReplicated = 30 * time.Second

// GaleraDSNs returns the DSNs of KLEPTO_TEST_GALERA_DSNS, one per node, as
// they are. Without the variable it calls tb.Skip naming it, or tb.Fatal if
// KLEPTO_TEST_REQUIRE_DBS=1; with fewer than two DSNs it fails.
func GaleraDSNs(tb testing.TB) []string {
	tb.Helper()
	var dsns []string
	for _, s := range strings.Split(requireDSN(tb, GaleraEnv, "a MariaDB Galera cluster"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			dsns = append(dsns, s)
		}
	}
	if len(dsns) < 2 {
		tb.Fatalf("sqltest: %s names %d node, want at least 2, separated by commas", GaleraEnv, len(dsns))
	}
	return dsns
}

// Galera returns a new, empty database (utf8mb4, utf8mb4_bin) of the
// MariaDB Galera cluster named by KLEPTO_TEST_GALERA_DSNS, as one Database
// per node, in the variable's order: each has a pool on its own node and
// that node's DSN, with the new database's name. The database is created
// through the first node, and Galera returns once every node has it. The
// pools are closed and the database dropped, through the first node that
// answers, when the test ends.
//
// Without the variable, Galera calls tb.Skip naming it, or tb.Fatal if
// KLEPTO_TEST_REQUIRE_DBS=1.
func Galera(tb testing.TB) []Database {
	tb.Helper()
	dsns := GaleraDSNs(tb)
	ctx := context.Background()
	admins := make([]*sql.DB, len(dsns))
	for i, dsn := range dsns {
		admins[i] = openServer(tb, "mysql", dsn)
	}
	name := uniqueName()
	quoted := dialect.MySQL.QuoteIdent(name)
	if _, err := admins[0].ExecContext(ctx, `CREATE DATABASE `+quoted+` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`); err != nil {
		tb.Fatalf("sqltest: create galera database: %v", err)
	}
	tb.Cleanup(func() {
		var errs []string
		for i, admin := range admins {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+quoted)
			cancel()
			if err == nil {
				return
			}
			errs = append(errs, fmt.Sprintf("node %d: %v", i+1, err))
		}
		tb.Errorf("sqltest: drop galera database %s: %s", name, strings.Join(errs, "; "))
	})

	out := make([]Database, len(dsns))
	for i, dsn := range dsns {
		deadline := time.Now().Add(galeraReplicated)
		for {
			var n int
			err := admins[i].QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, name).Scan(&n)
			if err == nil && n == 1 {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("sqltest: galera database %s has not reached node %d after %v (%v)", name, i+1, galeraReplicated, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			tb.Fatalf("sqltest: parse %s: %v", GaleraEnv, err)
		}
		cfg.DBName = name
		connector, err := mysql.NewConnector(cfg)
		if err != nil {
			tb.Fatalf("sqltest: parse %s: %v", GaleraEnv, err)
		}
		out[i] = Database{
			DB:      openConnector(tb, connector),
			Dialect: dialect.MySQL,
			Driver:  "mysql",
			DSN:     cfg.FormatDSN(),
			Name:    name,
		}
	}
	return out
}

// GaleraNode returns a new, empty database of node i (from 0) of the
// MariaDB Galera cluster named by KLEPTO_TEST_GALERA_DSNS, created and
// dropped through that node alone: a test that needs one node does not
// wait for the others, which another test may have stopped. It skips or
// fails as [Galera] does.
func GaleraNode(tb testing.TB, i int) Database {
	tb.Helper()
	dsns := GaleraDSNs(tb)
	if i < 0 || i >= len(dsns) {
		tb.Fatalf("sqltest: %s names %d nodes, not node %d", GaleraEnv, len(dsns), i)
	}
	return mySQLAt(tb, GaleraEnv, dsns[i])
}

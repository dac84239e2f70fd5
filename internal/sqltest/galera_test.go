package sqltest_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/klepto-sql/klepto/internal/sqltest"
)

// messageTB records the formatted message of a Skip or a Fatal, which end
// the goroutine as the real ones do.
type messageTB struct {
	testing.TB
	skipped, failed string
}

func (f *messageTB) Helper() {}
func (f *messageTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *messageTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Without KLEPTO_TEST_GALERA_DSNS, Galera and GaleraNode skip naming it, or
// fail naming it under KLEPTO_TEST_REQUIRE_DBS=1; a variable that names
// one node fails.
func TestGaleraMissingDSNs(t *testing.T) {
	helpers := map[string]func(testing.TB){
		"Galera":     func(tb testing.TB) { sqltest.Galera(tb) },
		"GaleraNode": func(tb testing.TB) { sqltest.GaleraNode(tb, 0) },
	}
	for name, open := range helpers {
		for _, c := range []struct{ dsns, require, want string }{
			{"", "", "skip"},
			{"", "1", "fail"},
			{"root@tcp(127.0.0.1:1)/test", "", "fail"},
		} {
			t.Run(fmt.Sprintf("%s/dsns=%q/require=%s", name, c.dsns, c.require), func(t *testing.T) {
				t.Setenv(sqltest.GaleraEnv, c.dsns)
				if c.dsns == "" {
					os.Unsetenv(sqltest.GaleraEnv)
				}
				t.Setenv(sqltest.RequireEnv, c.require)
				f := &messageTB{TB: t}
				var wg sync.WaitGroup
				wg.Go(func() { open(f) })
				wg.Wait()
				got, msg := "skip", f.skipped
				if f.failed != "" {
					got, msg = "fail", f.failed
				}
				if got != c.want || !strings.Contains(msg, sqltest.GaleraEnv) {
					t.Errorf("%s: %s %q; want a %s naming %s", name, got, msg, c.want, sqltest.GaleraEnv)
				}
			})
		}
	}
}

// Galera gives one pool per node, each on its own node, on one database
// that every node has.
func TestGalera(t *testing.T) {
	nodes := sqltest.Galera(t)
	seen := make(map[string]bool)
	for i, n := range nodes {
		var node, db string
		if err := n.DB.QueryRowContext(t.Context(), "SELECT @@wsrep_node_name, DATABASE()").Scan(&node, &db); err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
		if seen[node] || db != n.Name || db != nodes[0].Name {
			t.Errorf("pool %d is on node %q, database %q; want a node of its own and database %q", i+1, node, db, nodes[0].Name)
		}
		seen[node] = true
	}
}

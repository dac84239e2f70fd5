package sqlarchive_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// BenchmarkReadDBMiss is BenchmarkMiss with leases on PostgreSQL, through
// an Archive on the primary alone ("primary") and through one reading its
// hot standby (Options.ReadDB, "replica"), where a miss reads the standby,
// then the primary, before the lease. It needs KLEPTO_TEST_PG_PRIMARY_DSN
// and KLEPTO_TEST_PG_REPLICA_DSN.
func BenchmarkReadDBMiss(b *testing.B) {
	r := sqltest.PostgresReplica(b)
	ctx := context.Background()
	r.Primary.DB.SetMaxIdleConns(8)
	r.Replica.DB.SetMaxIdleConns(8)
	runs := 0
	for _, name := range []string{"primary", "replica"} {
		opts := &sqlarchive.Options{Dialect: dialect.Postgres}
		if name == "replica" {
			opts.ReadDB = r.Replica.DB
		}
		a, err := sqlarchive.Open(ctx, r.Primary.DB, opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { a.Close() })
		r.WaitReplay(b)
		b.Run(name, func(b *testing.B) {
			runs++ // each run its own archive, so that every call misses
			m, err := sqlarchive.Memoize(ctx, a, fmt.Sprintf("%s_%d", name, runs),
				func(_ context.Context, n int) (int, error) { return n, nil }, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				if _, err := m.Call(ctx, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package sqlarchive_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

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
	names := []string{"primary", "replica"}
	archives := make([]*sqlarchive.Archive, len(names))
	for i, name := range names {
		opts := &sqlarchive.Options{Dialect: dialect.Postgres}
		if name == "replica" {
			opts.ReadDB = r.Replica.DB
		}
		a, err := sqlarchive.Open(ctx, r.Primary.DB, opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { a.Close() })
		archives[i] = a
	}
	r.WaitReplay(b)
	// memo returns a memo of an instant function into a new archive of a,
	// so that every call misses.
	memo := func(b *testing.B, a *sqlarchive.Archive, name string) func(context.Context, int) (int, error) {
		runs++
		m, err := sqlarchive.Memoize(ctx, a, fmt.Sprintf("%s_%d", name, runs),
			func(_ context.Context, n int) (int, error) { return n, nil }, nil)
		if err != nil {
			b.Fatal(err)
		}
		return m.Call
	}
	for i, name := range names {
		b.Run(name, func(b *testing.B) {
			call := memo(b, archives[i], name)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				if _, err := call(ctx, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// Both in turn, reported as the median of each: side by side under the
	// same load of the machine.
	b.Run("interleaved", func(b *testing.B) {
		calls := make([]func(context.Context, int) (int, error), len(names))
		times := make([][]time.Duration, len(names))
		for i, name := range names {
			calls[i] = memo(b, archives[i], name)
		}
		n := 0
		for b.Loop() {
			n++
			for i, call := range calls {
				start := time.Now()
				if _, err := call(ctx, n); err != nil {
					b.Fatal(err)
				}
				times[i] = append(times[i], time.Since(start))
			}
		}
		for i, name := range names {
			slices.Sort(times[i])
			b.ReportMetric(float64(times[i][len(times[i])/2])/float64(time.Microsecond), name+"-µs")
		}
	})
}

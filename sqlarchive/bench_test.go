package sqlarchive_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// BenchmarkMiss measures what the lease costs a miss: each call has new
// arguments, so it misses memory and the table, computes (at once) and
// writes its result; with the lease (the default), it also takes the key's
// lease before computing and releases it after, in the background.
func BenchmarkMiss(b *testing.B) {
	for _, d := range []*dialect.Dialect{dialect.SQLite, dialect.Postgres, dialect.MySQL} {
		b.Run(d.Name(), func(b *testing.B) {
			ctx := context.Background()
			db := sqltest.Open(b, d)
			db.SetMaxIdleConns(8)
			a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: d})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { a.Close() })
			runs := 0
			for _, lease := range []bool{false, true} {
				name := map[bool]string{false: "nolease", true: "lease"}[lease]
				b.Run(name, func(b *testing.B) {
					runs++ // each run its own archive, so that every call misses
					m, err := sqlarchive.Memoize(ctx, a, fmt.Sprintf("%s_%d", name, runs),
						func(_ context.Context, n int) (int, error) { return n, nil },
						&sqlarchive.MemoizeOptions[int]{NoLease: !lease})
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
		})
	}
}

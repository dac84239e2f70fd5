package sqlarchive_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// BenchmarkWriteBack compares write-back with write-through over a table,
// memory holding 100 entries:
//
//   - loads: the table already holds 1000 results, which the calls cycle
//     through, so every call misses memory and reads the table; nothing is
//     new, so neither mode has anything to write;
//   - new: every call has new arguments, so every call computes a result
//     that write-through writes at once and write-back writes when memory
//     lets it go.
func BenchmarkWriteBack(b *testing.B) {
	const stored = 1000
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
			id := func(_ context.Context, n int) (int, error) { return n, nil }
			fill, err := sqlarchive.Memoize(ctx, a, "loads", id, &sqlarchive.MemoizeOptions[int]{NoLease: true, NoFollow: true})
			if err != nil {
				b.Fatal(err)
			}
			for n := range stored {
				if _, err := fill.Call(ctx, n); err != nil {
					b.Fatal(err)
				}
			}
			runs := 0
			for _, work := range []string{"loads", "new"} {
				for _, back := range []bool{false, true} {
					mode := map[bool]string{false: "through", true: "back"}[back]
					b.Run(work+"/"+mode, func(b *testing.B) {
						name := "loads"
						if work == "new" {
							runs++ // each run its own archive, so that every call is new
							name = fmt.Sprintf("new_%d", runs)
						}
						m, err := sqlarchive.Memoize(ctx, a, name, id, &sqlarchive.MemoizeOptions[int]{
							Memo:     cache.MemoOptions[int]{WriteBack: back},
							NoFollow: true,
						})
						if err != nil {
							b.Fatal(err)
						}
						b.ReportAllocs()
						n := 0
						for b.Loop() {
							arg := n % stored
							if work == "new" {
								arg = n
							}
							n++
							if _, err := m.Call(ctx, arg); err != nil {
								b.Fatal(err)
							}
						}
						b.StopTimer()
						if back {
							if err := m.Dump(ctx); err != nil { // leave nothing unwritten
								b.Fatal(err)
							}
						}
						info := m.Info()
						b.ReportMetric(float64(info.Loads)/float64(n), "loads/op")
					})
				}
			}
		})
	}
}

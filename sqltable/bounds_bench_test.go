package sqltable_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqltable"
)

// benchBound is the bound of the bounded tables of the benchmarks.
const benchBound = 10_000

// BenchmarkPutBounds compares Put of new keys into a table without bounds
// ("off", which grows) and one bounded to benchBound entries ("on", filled
// to its bound first, so that every write is past it and the evictions
// are amortised over the writes), with the change feed, as package
// sqlarchive opens tables, and without.
func BenchmarkPutBounds(b *testing.B) {
	benchDB(b, func(b *testing.B, db *sql.DB, d *dialect.Dialect) {
		ctx := context.Background()
		for _, feed := range []bool{false, true} {
			name := "nofeed"
			if feed {
				name = "feed"
				if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
					b.Fatal(err)
				}
			}
			for _, on := range []bool{false, true} {
				opts := &sqltable.Options{}
				mode := "off"
				if on {
					opts.MaxEntries, mode = benchBound, "on"
				}
				b.Run(name+"/"+mode, func(b *testing.B) {
					tbl := open[int](b, db, d, opts)
					fillBench(b, tbl, "fill", benchBound)
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						if err := tbl.Put(ctx, keymap.NewKey(fmt.Sprint("new", i)), i); err != nil {
							b.Fatal(err)
						}
						i++
					}
				})
			}
		}
	})
}

// fillBench writes n entries with keys of prefix into tbl.
func fillBench(b *testing.B, tbl *sqltable.Table[int], prefix string, n int) {
	b.Helper()
	var entries []cache.Entry[int]
	for i := range n {
		entries = append(entries, cache.Entry[int]{Key: keymap.NewKey(fmt.Sprint(prefix, i)), Value: i})
	}
	if err := tbl.PutMany(context.Background(), entries); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEvict measures the evictions a table sustains: each operation
// writes 1,000 new entries past the bound (not timed) and evicts them
// with Table.Evict, one statement per batch, with the change feed
// recording each eviction. It reports the rate in evictions/s.
func BenchmarkEvict(b *testing.B) {
	benchDB(b, func(b *testing.B, db *sql.DB, d *dialect.Dialect) {
		ctx := context.Background()
		if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
			b.Fatal(err)
		}
		tbl := open[int](b, db, d, &sqltable.Options{MaxEntries: benchBound, FeedWindow: -1})
		fillBench(b, tbl, "fill", benchBound)
		// The writes go through a Table without bounds, so that only Evict
		// evicts.
		writer, err := sqltable.Open[int](ctx, db, tbl.Name(), &sqltable.Options{Dialect: d, FeedWindow: -1})
		if err != nil {
			b.Fatal(err)
		}
		defer writer.Close()
		b.ReportAllocs()
		evicted, round := 0, 0
		for b.Loop() {
			b.StopTimer()
			fillBench(b, writer, fmt.Sprint("r", round, "-"), 1000)
			round++
			b.StartTimer()
			n, err := tbl.Evict(ctx)
			if err != nil {
				b.Fatal(err)
			}
			evicted += n
		}
		b.ReportMetric(float64(evicted)/b.Elapsed().Seconds(), "evictions/s")
	})
}

package integration

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqltable"
)

// BenchmarkMemoizeZipf is the memoizer's whole path under a skewed load:
// calls drawn from a Zipf distribution (s=1.1) over 10,000 keys, an LRU of
// 1,000 entries in front of a SQLite table, write-through. It reports
// calls/s and the share of calls served from memory, the table, and the
// function. Target: at least 250,000 calls/s.
func BenchmarkMemoizeZipf(b *testing.B) {
	ctx := context.Background()
	db := sqltest.SQLiteAt(b, filepath.Join(b.TempDir(), "zipf.db"))
	db.SetMaxOpenConns(1)
	table, err := sqltable.Open[int](ctx, db, "square", &sqltable.Options{Dialect: dialect.SQLite})
	if err != nil {
		b.Fatal(err)
	}
	square := func(_ context.Context, n int) (int, error) { return n * n, nil }
	m, err := cache.Memoize(square, &cache.MemoOptions[int]{MaxSize: 1000, Archive: table})
	if err != nil {
		b.Fatal(err)
	}
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, 10_000-1)
	keys := make([]int, 1<<16)
	for i := range keys {
		keys[i] = int(zipf.Uint64())
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := m.Call(ctx, keys[i&(len(keys)-1)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	info := m.Info()
	calls := float64(info.Hits + info.Misses + info.Loads)
	b.ReportMetric(calls/b.Elapsed().Seconds(), "calls/s")
	b.ReportMetric(float64(info.Hits)/calls, "hits/op")
	b.ReportMetric(float64(info.Loads)/calls, "loads/op")
	b.ReportMetric(float64(info.Misses)/calls, "misses/op")
}

package integration

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// BenchmarkMemoizeZipf is the memoizer's whole path under a skewed load:
// calls drawn from a Zipf distribution (s=1.1) over 10,000 keys, an LRU of
// 1,000 entries in front of a SQLite table, write-through. It reports
// calls/s and the share of calls served from memory, the table, and the
// function. Target: at least 250,000 calls/s. The memo is cache.Memoize over
// a sqltable.Table ("table"), and sqlarchive.Memoize with its defaults
// ("shared": the change feed followed, and a lease taken for each miss).
func BenchmarkMemoizeZipf(b *testing.B) {
	square := func(_ context.Context, n int) (int, error) { return n * n, nil }
	memos := map[string]func(b *testing.B, ctx context.Context) *cache.Memo[int, int]{
		"table": func(b *testing.B, ctx context.Context) *cache.Memo[int, int] {
			db := sqltest.SQLiteAt(b, filepath.Join(b.TempDir(), "zipf.db"))
			db.SetMaxOpenConns(1)
			table, err := sqltable.Open[int](ctx, db, "square", &sqltable.Options{Dialect: dialect.SQLite})
			if err != nil {
				b.Fatal(err)
			}
			m, err := cache.Memoize(square, &cache.MemoOptions[int]{MaxSize: 1000, Archive: table})
			if err != nil {
				b.Fatal(err)
			}
			return m
		},
		"shared": func(b *testing.B, ctx context.Context) *cache.Memo[int, int] {
			db := sqltest.SQLiteAt(b, filepath.Join(b.TempDir(), "zipf.db"))
			db.SetMaxOpenConns(1)
			a, err := sqlarchive.Open(ctx, db, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { a.Close() })
			m, err := sqlarchive.Memoize(ctx, a, "square", square,
				&sqlarchive.MemoizeOptions[int]{Memo: cache.MemoOptions[int]{MaxSize: 1000}})
			if err != nil {
				b.Fatal(err)
			}
			return m
		},
	}
	for _, name := range []string{"table", "shared"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			m := memos[name](b, ctx)
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
		})
	}
}

// BenchmarkInvalidationLatency measures how long a change takes to reach the
// memory of another process: a memo server (a child process, as in the
// tests) holds a key in memory and polls Lookup every 0.5 ms, while the
// benchmark, through a pool and an Archive of its own, overwrites the key;
// the latency runs from the overwrite's commit to the key leaving the
// server's memory. The overwrite comes at a random moment of the poll
// interval. It reports the median and the 99th percentile over the
// iterations (run with -benchtime=200x for a steady p99), on each database
// at the default settings (sqlarchive.DefaultPollInterval, no Listener),
// and on PostgreSQL with a Listener. Targets: p99 under 1 s; under 50 ms on
// PostgreSQL with a Listener.
func BenchmarkInvalidationLatency(b *testing.B) {
	type setup struct {
		name   string
		d      *dialect.Dialect
		listen bool
	}
	setups := []setup{{"sqlite", dialect.SQLite, false}, {"postgres", dialect.Postgres, false},
		{"mysql", dialect.MySQL, false}, {"postgres-listen", dialect.Postgres, true}}
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			db := sqltest.Fresh(b, s.d)
			cfg := serveConfigOf(db, "sq")
			if s.listen {
				cfg.ListenDSN = db.DSN
			}
			server := startServer(b, cfg)
			ctx := b.Context()
			a, err := sqlarchive.Open(ctx, db.DB, &sqlarchive.Options{Dialect: s.d})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			table, err := sqlarchive.Table[int](ctx, a, "sq", nil)
			if err != nil {
				b.Fatal(err)
			}
			km, err := keymap.NewString(nil)
			if err != nil {
				b.Fatal(err)
			}
			const n = 1
			key, err := km.Key(sqArgs{n})
			if err != nil {
				b.Fatal(err)
			}
			if s.listen {
				deadline := time.Now().Add(10 * time.Second)
				for !server.info().Follow.Listening {
					if time.Now().After(deadline) {
						b.Fatal("the server's follower does not listen after 10 s")
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			var latencies []time.Duration
			value := 0
			b.ReportAllocs()
			for b.Loop() {
				server.call(n) // loads the key into memory
				gone := server.send(request{Op: "await", N: n})
				gone.waitArmed()
				// Each iteration would otherwise start just after a poll,
				// and wait a whole poll interval: write at a random moment
				// of the interval instead.
				time.Sleep(rand.N(sqlarchive.DefaultPollInterval))
				value--
				if err := table.Put(ctx, key, value); err != nil {
					b.Fatal(err)
				}
				committed := time.Now()
				r := gone.wait()
				if r.Err != "" {
					b.Fatal(r.Err)
				}
				latencies = append(latencies, unixTime(r.At).Sub(committed))
			}
			slices.Sort(latencies)
			percentile := func(p float64) float64 {
				return float64(latencies[int(p*float64(len(latencies)-1))]) / float64(time.Millisecond)
			}
			b.ReportMetric(percentile(0.5), "p50-ms")
			b.ReportMetric(percentile(0.99), "p99-ms")
		})
	}
}

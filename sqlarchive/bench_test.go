package sqlarchive_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
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

// BenchmarkDeleteExpired measures a round of the janitor: one that deletes
// 1,000 expired entries of one table, and one that finds nothing to delete
// in 10 tables, the cost of a round on an idle database.
func BenchmarkDeleteExpired(b *testing.B) {
	for _, d := range []*dialect.Dialect{dialect.SQLite, dialect.Postgres, dialect.MySQL} {
		b.Run(d.Name(), func(b *testing.B) {
			ctx := context.Background()
			db := sqltest.Open(b, d)
			var now atomic.Int64
			now.Store(time.Now().Add(-time.Hour).UnixNano())
			clock := func() time.Time { return time.Unix(0, now.Load()) }
			a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: d, Clock: clock})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { a.Close() })
			var tables []*sqltable.Table[int]
			for i := range 10 {
				tbl, err := sqlarchive.Table[int](ctx, a, fmt.Sprintf("t%d", i), &sqlarchive.TableOptions{TTL: new(time.Second)})
				if err != nil {
					b.Fatal(err)
				}
				tables = append(tables, tbl)
			}
			b.Run("1000-expired", func(b *testing.B) {
				entries := make([]cache.Entry[int], 1000)
				for b.Loop() {
					b.StopTimer()
					now.Store(time.Now().Add(-time.Hour).UnixNano())
					for i := range entries {
						entries[i] = cache.Entry[int]{Key: keymap.NewKey(strconv.Itoa(i)), Value: i}
					}
					if err := tables[0].PutMany(ctx, entries); err != nil {
						b.Fatal(err)
					}
					now.Store(time.Now().UnixNano())
					b.StartTimer()
					if n, err := a.DeleteExpired(ctx, 1000); err != nil || n != 1000 {
						b.Fatalf("DeleteExpired = %d, %v; want 1000", n, err)
					}
				}
			})
			b.Run("idle-10-tables", func(b *testing.B) {
				for b.Loop() {
					if n, err := a.DeleteExpired(ctx, 1000); err != nil || n != 0 {
						b.Fatalf("DeleteExpired = %d, %v; want 0", n, err)
					}
				}
			})
		})
	}
}

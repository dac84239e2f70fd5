package sqltable_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// The benchmarks compare a Table ("table") with plain database/sql
// prepared statements on an identical table ("raw"), doing what
// hand-written code would: read the value by key hash and decode its JSON;
// encode a value and upsert it; upsert a batch in a transaction.
//
// They run on SQLite always, and on PostgreSQL and MySQL when
// KLEPTO_TEST_POSTGRES_DSN and KLEPTO_TEST_MYSQL_DSN are set.

const (
	benchKeys  = 1000   // distinct keys of Get and Put
	benchBatch = 1000   // entries per PutMany
	batchKeys  = 10_000 // distinct keys of PutMany
)

// benchDB runs fn on each database.
func benchDB(b *testing.B, fn func(b *testing.B, db *sql.DB, d *dialect.Dialect)) {
	for _, d := range []*dialect.Dialect{dialect.SQLite, dialect.Postgres, dialect.MySQL} {
		b.Run(d.Name(), func(b *testing.B) { fn(b, sqltest.Open(b, d), d) })
	}
}

// benchKeySet returns n keys.
func benchKeySet(n int) []keymap.Key {
	keys := make([]keymap.Key, n)
	for i := range keys {
		keys[i] = keymap.NewKey(fmt.Sprintf("(n=%d)", i))
	}
	return keys
}

// benchTables returns a Table and a second archive table of the same
// layout, for raw statements, both holding every key.
func benchTables(b testing.TB, db *sql.DB, d *dialect.Dialect, keys []keymap.Key) (tbl *sqltable.Table[int], raw string) {
	b.Helper()
	ctx := context.Background()
	tbl = open[int](b, db, d, nil)
	other := open[int](b, db, d, nil)
	var entries []cache.Entry[int]
	for i, k := range keys {
		entries = append(entries, cache.Entry[int]{Key: k, Value: i})
	}
	for _, t := range []*sqltable.Table[int]{tbl, other} {
		if err := t.PutMany(ctx, entries); err != nil {
			b.Fatal(err)
		}
	}
	return tbl, d.QuoteIdent(other.Name())
}

func prepare(b *testing.B, db *sql.DB, query string) *sql.Stmt {
	b.Helper()
	s, err := db.PrepareContext(context.Background(), query)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkGet(b *testing.B) {
	benchDB(b, func(b *testing.B, db *sql.DB, d *dialect.Dialect) {
		ctx := context.Background()
		keys := benchKeySet(benchKeys)
		tbl, raw := benchTables(b, db, d, keys)
		b.Run("table", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				v, found, err := tbl.Get(ctx, keys[i%len(keys)])
				if err != nil || !found || v != i%len(keys) {
					b.Fatalf("Get = %d, %v, %v", v, found, err)
				}
				i++
			}
		})
		b.Run("raw", func(b *testing.B) {
			get := prepare(b, db, d.Rebind("SELECT value FROM "+raw+" WHERE key_hash = ?"))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := keys[i%len(keys)]
				var data []byte
				var v int
				if err := get.QueryRowContext(ctx, k.Hash[:]).Scan(&data); err != nil {
					b.Fatal(err)
				}
				if err := json.Unmarshal(data, &v); err != nil || v != i%len(keys) {
					b.Fatalf("value %d, %v", v, err)
				}
				i++
			}
		})
	})
}

func BenchmarkPut(b *testing.B) {
	benchDB(b, func(b *testing.B, db *sql.DB, d *dialect.Dialect) {
		ctx := context.Background()
		keys := benchKeySet(benchKeys)
		tbl, raw := benchTables(b, db, d, keys)
		b.Run("table", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			// Values differ from those stored, so that every Put writes.
			for b.Loop() {
				if err := tbl.Put(ctx, keys[i%len(keys)], -i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("raw", func(b *testing.B) {
			query, err := d.Upsert(dialect.Upsert{
				Table: raw[1 : len(raw)-1], Columns: []string{"key_hash", "key_text", "value"},
				Key: []string{"key_hash"}, Update: []string{"value"}, Rows: 1,
			})
			if err != nil {
				b.Fatal(err)
			}
			put := prepare(b, db, query)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := keys[i%len(keys)]
				data, err := json.Marshal(-i)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := put.ExecContext(ctx, k.Hash[:], k.Text, string(data)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}

func BenchmarkPutMany(b *testing.B) {
	benchDB(b, func(b *testing.B, db *sql.DB, d *dialect.Dialect) {
		ctx := context.Background()
		keys := benchKeySet(batchKeys)
		tbl, raw := benchTables(b, db, d, nil)
		batch := func(i int) []keymap.Key {
			start := i * benchBatch % len(keys)
			return keys[start : start+benchBatch]
		}
		b.Run("table", func(b *testing.B) {
			b.ReportAllocs()
			entries := make([]cache.Entry[int], benchBatch)
			i := 0
			for b.Loop() {
				for j, k := range batch(i) {
					entries[j] = cache.Entry[int]{Key: k, Value: i + j}
				}
				if err := tbl.PutMany(ctx, entries); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run("raw", func(b *testing.B) {
			// SQLite: one prepared single-row upsert per entry, one
			// transaction per batch. Servers: 500-row upserts.
			rows := 500
			if d == dialect.SQLite {
				rows = 1
			}
			query, err := d.Upsert(dialect.Upsert{
				Table: raw[1 : len(raw)-1], Columns: []string{"key_hash", "key_text", "value"},
				Key: []string{"key_hash"}, Update: []string{"value"}, Rows: rows,
			})
			if err != nil {
				b.Fatal(err)
			}
			put := prepare(b, db, query)
			b.ReportAllocs()
			args := make([]any, 0, 3*rows)
			i := 0
			for b.Loop() {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				stmt := tx.StmtContext(ctx, put)
				for j, k := range batch(i) {
					data, err := json.Marshal(i + j)
					if err != nil {
						b.Fatal(err)
					}
					args = append(args, k.Hash[:], k.Text, string(data))
					if len(args) == cap(args) {
						if _, err := stmt.ExecContext(ctx, args...); err != nil {
							b.Fatal(err)
						}
						args = args[:0]
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
		})
	})
}

// benchCase is one of the calls interleave runs in turn: run does the
// work of iteration i.
type benchCase struct {
	name string
	run  func(i int) error
}

// interleave runs one call of each case per iteration, in turn, so that
// all see the same load of the machine, and reports the median time of
// each as "<name>-µs"; it returns the medians, in the order of cases.
// setup, if not nil, prepares iteration i untimed. Ratios of these
// medians are what BENCHMARKS.md records: on a shared 2-core machine,
// separate runs of two benchmarks drift apart by more than the
// differences they measure.
func interleave(b *testing.B, setup func(i int), cases ...benchCase) []float64 {
	b.Helper()
	times := make([][]time.Duration, len(cases))
	i := 0
	for b.Loop() {
		if setup != nil {
			b.StopTimer()
			setup(i)
			b.StartTimer()
		}
		for c, bc := range cases {
			start := time.Now()
			err := bc.run(i)
			times[c] = append(times[c], time.Since(start))
			if err != nil {
				b.Fatalf("%s: %v", bc.name, err)
			}
		}
		i++
	}
	medians := make([]float64, len(cases))
	for c, bc := range cases {
		medians[c] = medianMicros(times[c])
		b.ReportMetric(medians[c], strings.ReplaceAll(bc.name, "/", "-")+"-µs")
	}
	return medians
}

// medianMicros returns the median of ds, in microseconds.
func medianMicros(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[len(ds)/2]) / float64(time.Microsecond)
}

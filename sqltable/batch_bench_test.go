package sqltable_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
	"github.com/lib/pq"
)

// BenchmarkGetMany reads 1,000 stored keys with GetMany ("table") and with
// the best single statement hand-written code would send ("raw"): on
// PostgreSQL a join to unnest($1) of a pq.ByteaArray (key_hash = ANY($1)
// reads 3.5 times slower: it compares each row to every key), elsewhere
// one IN of 1,000 placeholders, without the expiry condition; both decode every value.
func BenchmarkGetMany(b *testing.B) {
	benchDB(b, func(b *testing.B, db *sql.DB, d *dialect.Dialect) {
		ctx := context.Background()
		keys := benchKeySet(benchKeys)
		tbl, raw := benchTables(b, db, d, keys)
		b.Run("table", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, err := tbl.GetMany(ctx, keys)
				if err != nil || len(m) != len(keys) {
					b.Fatalf("GetMany = %d values, %v", len(m), err)
				}
			}
		})
		b.Run("raw", func(b *testing.B) {
			var get *sql.Stmt
			if d == dialect.Postgres {
				get = prepare(b, db, "SELECT t.key_hash, t.value FROM unnest($1::bytea[]) AS k(h) JOIN "+raw+" AS t ON t.key_hash = k.h")
			} else {
				get = prepare(b, db, "SELECT key_hash, value FROM "+raw+" WHERE key_hash IN ("+d.Placeholders(1, len(keys))+")")
			}
			b.ReportAllocs()
			args := make([]any, 0, len(keys))
			hashes := make(pq.ByteaArray, len(keys))
			for b.Loop() {
				args = args[:0]
				if d == dialect.Postgres {
					for i, k := range keys {
						hashes[i] = k.Hash[:]
					}
					args = append(args, hashes)
				} else {
					for _, k := range keys {
						args = append(args, k.Hash[:])
					}
				}
				rows, err := get.QueryContext(ctx, args...)
				if err != nil {
					b.Fatal(err)
				}
				m := make(map[[32]byte]int, len(keys))
				for rows.Next() {
					var hash, data sql.RawBytes
					if err := rows.Scan(&hash, &data); err != nil {
						b.Fatal(err)
					}
					var v int
					if err := json.Unmarshal(data, &v); err != nil {
						b.Fatal(err)
					}
					m[[32]byte(hash)] = v
				}
				if err := rows.Err(); err != nil || len(m) != len(keys) {
					b.Fatalf("raw read %d values, %v", len(m), err)
				}
				rows.Close()
			}
		})
	})
}

// BenchmarkPutManySizes writes batches of 1,000 entries of string values
// of about 100 bytes and 10 KB, of new keys ("insert") and of stored keys
// ("update"), with PutMany ("table") and with hand-written multi-row
// VALUES upserts of rawRows rows in one transaction ("raw"), writing the
// same columns: key_hash, key_text, value, size_bytes and the timestamps.
func BenchmarkPutManySizes(b *testing.B) {
	benchDB(b, func(b *testing.B, db *sql.DB, d *dialect.Dialect) {
		for _, size := range []int{100, 10_000} {
			for _, mode := range []string{"insert", "update"} {
				b.Run(fmt.Sprintf("%s/%dB", mode, size), func(b *testing.B) {
					benchPutMany(b, db, d, mode == "update", size)
				})
			}
		}
	})
}

// rawRows are the rows of one hand-written multi-row upsert.
var rawRows = []int{250, 500}

func benchPutMany(b *testing.B, db *sql.DB, d *dialect.Dialect, update bool, size int) {
	ctx := context.Background()
	pad := strings.Repeat("x", size-20)
	// batch returns the keys and values of batch i: new keys unless update.
	batch := func(i int) ([]keymap.Key, []string) {
		keys := make([]keymap.Key, benchBatch)
		values := make([]string, benchBatch)
		for j := range keys {
			n := i*benchBatch + j
			if update {
				n = j
			}
			keys[j] = keymap.NewKey(fmt.Sprintf("(n=%d)", n))
			values[j] = fmt.Sprintf("%s%010d", pad, i*benchBatch+j)
		}
		return keys, values
	}
	newTable := func(b *testing.B) *sqltable.Table[string] {
		tbl := open[string](b, db, d, nil)
		if update {
			keys, values := batch(-1)
			entries := make([]cache.Entry[string], len(keys))
			for j := range keys {
				entries[j] = cache.Entry[string]{Key: keys[j], Value: values[j]}
			}
			if err := tbl.PutMany(ctx, entries); err != nil {
				b.Fatal(err)
			}
		}
		return tbl
	}
	b.Run("table", func(b *testing.B) {
		tbl := newTable(b)
		b.ReportAllocs()
		entries := make([]cache.Entry[string], benchBatch)
		i := 0
		for b.Loop() {
			b.StopTimer()
			keys, values := batch(i)
			for j := range keys {
				entries[j] = cache.Entry[string]{Key: keys[j], Value: values[j]}
			}
			b.StartTimer()
			if err := tbl.PutMany(ctx, entries); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
	})
	for _, rows := range rawRows {
		b.Run(fmt.Sprintf("raw%d", rows), func(b *testing.B) {
			name := newTable(b).Name()
			query, err := d.Upsert(dialect.Upsert{
				Table:   name,
				Columns: []string{"key_hash", "key_text", "value", "size_bytes", "created_at", "updated_at", "expires_at"},
				Key:     []string{"key_hash"},
				Update:  []string{"value", "size_bytes", "updated_at", "expires_at"},
				Rows:    rows,
			})
			if err != nil {
				b.Fatal(err)
			}
			put := prepare(b, db, query)
			b.ReportAllocs()
			args := make([]any, 0, 7*rows)
			i := 0
			for b.Loop() {
				b.StopTimer()
				keys, values := batch(i)
				b.StartTimer()
				now := d.TimeArg(time.Now())
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				stmt := tx.StmtContext(ctx, put)
				for j, k := range keys {
					data, err := json.Marshal(values[j])
					if err != nil {
						b.Fatal(err)
					}
					args = append(args, k.Hash[:], sqltable.EncodeKeyText(k.Text), string(data), len(data), now, now, nil)
					if len(args) == cap(args) || j == len(keys)-1 {
						if len(args) != cap(args) {
							b.Fatalf("batch of %d rows is not a multiple of %d", len(keys), rows)
						}
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
	}
}

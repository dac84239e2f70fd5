package sqltable_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
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
// one IN of 1,000 placeholders, without the expiry condition; both decode
// every value. "interleaved" runs the two in turn and reports table/raw,
// the ratio of their medians.
func BenchmarkGetMany(b *testing.B) {
	benchDB(b, func(b *testing.B, db *sql.DB, d *dialect.Dialect) {
		ctx := context.Background()
		keys := benchKeySet(benchKeys)
		tbl, _ := benchTables(b, db, d, keys)
		table := func(int) error {
			m, err := tbl.GetMany(ctx, keys)
			if err == nil && len(m) != len(keys) {
				err = fmt.Errorf("GetMany read %d values, want %d", len(m), len(keys))
			}
			return err
		}
		// raw reads the table's own rows, as a second table of the same
		// rows need not be laid out alike.
		raw := rawGetMany(b, db, d, d.QuoteIdent(tbl.Name()), keys)
		b.Run("table", func(b *testing.B) { loop(b, table) })
		b.Run("raw", func(b *testing.B) { loop(b, raw) })
		b.Run("interleaved", func(b *testing.B) {
			m := interleave(b, nil, benchCase{"table", table}, benchCase{"raw", raw})
			b.ReportMetric(m[0]/m[1], "table/raw")
		})
	})
}

// rawGetMany returns the best single statement hand-written code would
// send to read keys from the table named quoted, decoding every value.
func rawGetMany(b *testing.B, db *sql.DB, d *dialect.Dialect, quoted string, keys []keymap.Key) func(int) error {
	var get *sql.Stmt
	if d == dialect.Postgres {
		get = prepare(b, db, "SELECT t.key_hash, t.value FROM unnest($1::bytea[]) AS k(h) JOIN "+quoted+" AS t ON t.key_hash = k.h")
	} else {
		get = prepare(b, db, "SELECT key_hash, value FROM "+quoted+" WHERE key_hash IN ("+d.Placeholders(1, len(keys))+")")
	}
	args := make([]any, 0, len(keys))
	hashes := make(pq.ByteaArray, len(keys))
	return func(int) error {
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
		rows, err := get.QueryContext(context.Background(), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		m := make(map[[32]byte]int, len(keys))
		for rows.Next() {
			var hash, data sql.RawBytes
			if err := rows.Scan(&hash, &data); err != nil {
				return err
			}
			var v int
			if err := json.Unmarshal(data, &v); err != nil {
				return err
			}
			m[[32]byte(hash)] = v
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(m) != len(keys) {
			return fmt.Errorf("raw read %d values, want %d", len(m), len(keys))
		}
		return nil
	}
}

// loop runs fn once per iteration, reporting allocations.
func loop(b *testing.B, fn func(i int) error) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := fn(i); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPutManySizes writes batches of 1,000 entries of string values
// of about 100 bytes, 1 KB and 10 KB, of new keys ("insert") and of stored
// keys ("update"), with PutMany ("table") and with hand-written multi-row
// VALUES upserts of rawRows rows in one transaction ("raw"), writing the
// same columns: key_hash, key_text, value, size_bytes and the timestamps.
// On PostgreSQL two more raws: COPY into a temporary table and one upsert
// from it ("copy"), and the batch as one JSON array ("json").
// "interleaved" runs them all in turn and reports raw/table, the best
// raw's median time over the table's: the table's throughput against the
// best raw's.
func BenchmarkPutManySizes(b *testing.B) {
	benchDB(b, func(b *testing.B, db *sql.DB, d *dialect.Dialect) {
		for _, size := range []int{100, 1000, 10_000} {
			for _, mode := range []string{"insert", "update"} {
				b.Run(fmt.Sprintf("%s/%dB", mode, size), func(b *testing.B) {
					benchPutMany(b, db, d, mode == "update", size)
				})
			}
		}
	})
}

// rawRows are the rows of one hand-written multi-row upsert: 50 suits
// 10 KB values on PostgreSQL, 250 or 500 the rest.
var rawRows = []int{50, 250, 500}

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
	// newTable returns a new table, holding the keys to update unless
	// insert. They are stored one by one in a shuffled order, as a memo's
	// misses store them: on PostgreSQL, updating rows in the order they were
	// written took 1.15 times as long as in another order, which would
	// favour whichever of table and raw writes in a different order.
	newTable := func(b *testing.B) *sqltable.Table[string] {
		tbl := open[string](b, db, d, nil)
		if update {
			keys, values := batch(-1)
			for _, j := range rand.New(rand.NewPCG(1, 2)).Perm(len(keys)) {
				if err := tbl.Put(ctx, keys[j], values[j]); err != nil {
					b.Fatal(err)
				}
			}
		}
		return tbl
	}
	// The batch of the current iteration, made untimed.
	var keys []keymap.Key
	var values []string
	entries := make([]cache.Entry[string], benchBatch)
	setup := func(i int) {
		keys, values = batch(i)
		for j := range keys {
			entries[j] = cache.Entry[string]{Key: keys[j], Value: values[j]}
		}
	}
	table := func(b *testing.B) benchCase {
		tbl := newTable(b)
		return benchCase{"table", func(int) error { return tbl.PutMany(ctx, entries) }}
	}
	raw := func(b *testing.B, rows int) benchCase {
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
		args := make([]any, 0, 7*rows)
		return benchCase{fmt.Sprintf("raw%d", rows), func(int) error {
			now := d.TimeArg(time.Now())
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			stmt := tx.StmtContext(ctx, put)
			args = args[:0]
			for j, k := range keys {
				data, err := json.Marshal(values[j])
				if err != nil {
					return err
				}
				args = append(args, k.Hash[:], sqltable.EncodeKeyText(k.Text), string(data), len(data), now, now, nil)
				if len(args) == cap(args) || j == len(keys)-1 {
					if len(args) != cap(args) {
						return fmt.Errorf("batch of %d rows is not a multiple of %d", len(keys), rows)
					}
					if _, err := stmt.ExecContext(ctx, args...); err != nil {
						return err
					}
					args = args[:0]
				}
			}
			return tx.Commit()
		}}
	}
	// copyRaw, on PostgreSQL, copies the batch into a temporary table and
	// upserts from it in one statement.
	copyRaw := func(b *testing.B) benchCase {
		name := d.QuoteIdent(newTable(b).Name())
		cols := "key_hash, key_text, value, size_bytes, created_at, updated_at, expires_at"
		upsert := "INSERT INTO " + name + " (" + cols + ") SELECT " + cols + " FROM klepto_copy" +
			" ON CONFLICT (key_hash) DO UPDATE SET value = excluded.value, size_bytes = excluded.size_bytes," +
			" updated_at = excluded.updated_at, expires_at = excluded.expires_at"
		return benchCase{"copy", func(int) error {
			now := time.Now()
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "CREATE TEMPORARY TABLE klepto_copy (LIKE "+name+" INCLUDING DEFAULTS) ON COMMIT DROP"); err != nil {
				return err
			}
			stmt, err := tx.PrepareContext(ctx, "COPY klepto_copy ("+cols+") FROM STDIN") // lib/pq's COPY
			if err != nil {
				return err
			}
			defer stmt.Close() // before the rollback: lib/pq hangs rolling back an open COPY
			for j, k := range keys {
				data, err := json.Marshal(values[j])
				if err != nil {
					return err
				}
				if _, err := stmt.ExecContext(ctx, k.Hash[:], sqltable.EncodeKeyText(k.Text), string(data), len(data), now, now, nil); err != nil {
					return err
				}
			}
			if _, err := stmt.ExecContext(ctx); err != nil {
				return err
			}
			if err := stmt.Close(); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, upsert); err != nil {
				return err
			}
			return tx.Commit()
		}}
	}
	// jsonRaw, on PostgreSQL, sends the batch as one JSON array, its
	// values as they are, and upserts the elements of the array.
	jsonRaw := func(b *testing.B) benchCase {
		name := d.QuoteIdent(newTable(b).Name())
		sel := " SELECT decode(e->>'h', 'hex'), e->>'k', e->'v', (e->>'s')::int8, $2, $2, NULL FROM jsonb_array_elements($1::text::jsonb) AS e"
		upsert := "INSERT INTO " + name + " (key_hash, key_text, value, size_bytes, created_at, updated_at, expires_at)" +
			sel +
			" ON CONFLICT (key_hash) DO UPDATE SET value = excluded.value, size_bytes = excluded.size_bytes," +
			" updated_at = excluded.updated_at, expires_at = excluded.expires_at"
		put := prepare(b, db, upsert)
		var buf []byte
		return benchCase{"json", func(int) error {
			now := time.Now()
			buf = append(buf[:0], '[')
			for j, k := range keys {
				data, err := json.Marshal(values[j])
				if err != nil {
					return err
				}
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, `{"h":"`...)
				buf = hex.AppendEncode(buf, k.Hash[:])
				buf = append(buf, `","k":`...)
				kt, err := json.Marshal(sqltable.EncodeKeyText(k.Text))
				if err != nil {
					return err
				}
				buf = append(buf, kt...)
				buf = append(buf, `,"v":`...)
				buf = append(buf, data...)
				buf = append(buf, `,"s":`...)
				buf = strconv.AppendInt(buf, int64(len(data)), 10)
				buf = append(buf, '}')
			}
			buf = append(buf, ']')
			_, err := put.ExecContext(ctx, string(buf), now)
			return err
		}}
	}
	// one runs c alone, reporting rows/s.
	one := func(b *testing.B, c benchCase) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			b.StopTimer()
			setup(i)
			b.StartTimer()
			if err := c.run(i); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("table", func(b *testing.B) { one(b, table(b)) })
	for _, rows := range rawRows {
		b.Run(fmt.Sprintf("raw%d", rows), func(b *testing.B) { one(b, raw(b, rows)) })
	}
	if d == dialect.Postgres {
		b.Run("copy", func(b *testing.B) { one(b, copyRaw(b)) })
	}
	// All in turn; raw/table is the best raw's median over the table's:
	// the table's throughput against the best raw's.
	b.Run("interleaved", func(b *testing.B) {
		cases := []benchCase{table(b)}
		for _, rows := range rawRows {
			cases = append(cases, raw(b, rows))
		}
		if d == dialect.Postgres {
			cases = append(cases, copyRaw(b), jsonRaw(b))
		}
		m := interleave(b, setup, cases...)
		b.ReportMetric(slices.Min(m[1:])/m[0], "raw/table")
	})
}

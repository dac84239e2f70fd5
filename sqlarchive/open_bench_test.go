package sqlarchive_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// openTables is how many archives BenchmarkOpen opens on each Archive.
const openTables = 8

// BenchmarkOpen measures what a service pays to start on a database whose
// archives exist, on a pool that has opened Archives before, as a service
// that opens many does. Four cases run in turn, one call of each per
// iteration, on one pool:
//
//   - open: Open then Close, without tables;
//   - tables: Open, Table of 8 archives, Close;
//   - memos: Open, Memoize of 8 functions (which also starts the
//     follower of the change feed), Close;
//   - floor: what hand-written code does for 8 tables: CREATE TABLE IF NOT
//     EXISTS of the archive layout, then prepare as many statements as a
//     sqltable.Table does (10), and close them.
//
// Each reports its median time as "<case>-ms" and its driver operations
// (statements prepared, executed and queried, transactions begun and
// ended, connections opened) as "<case>-stmts"; "tables/floor" is the
// ratio of the medians. The allocations are those of the four together.
func BenchmarkOpen(b *testing.B) {
	for _, d := range []*dialect.Dialect{dialect.SQLite, dialect.Postgres, dialect.MySQL} {
		b.Run(d.Name(), func(b *testing.B) {
			ctx := context.Background()
			db, count := sqltest.Counted(b, d)
			db.SetMaxIdleConns(8)
			opts := &sqlarchive.Options{Dialect: d}
			names := make([]string, openTables)
			for i := range names {
				names[i] = fmt.Sprintf("open_%d", i)
			}
			open := func() error {
				a, err := sqlarchive.Open(ctx, db, opts)
				if err != nil {
					return err
				}
				return a.Close()
			}
			tables := func() error {
				a, err := sqlarchive.Open(ctx, db, opts)
				if err != nil {
					return err
				}
				for _, name := range names {
					if _, err := sqlarchive.Table[int](ctx, a, name, nil); err != nil {
						return errors.Join(err, a.Close())
					}
				}
				return a.Close()
			}
			memos := func() error {
				a, err := sqlarchive.Open(ctx, db, opts)
				if err != nil {
					return err
				}
				for _, name := range names {
					_, err := sqlarchive.Memoize(ctx, a, name, func(_ context.Context, n int) (int, error) { return n, nil }, nil)
					if err != nil {
						return errors.Join(err, a.Close())
					}
				}
				return a.Close()
			}
			floor := floorOpen(ctx, db, d)
			// The first Open migrates, and the first Table creates.
			if err := tables(); err != nil {
				b.Fatal(err)
			}
			if err := floor(); err != nil {
				b.Fatal(err)
			}
			cases := []struct {
				name string
				run  func() error
			}{{"open", open}, {"tables", tables}, {"memos", memos}, {"floor", floor}}
			times := make([][]time.Duration, len(cases))
			stmts := make([]int, len(cases))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for c, bc := range cases {
					count.Reset()
					start := time.Now()
					err := bc.run()
					times[c] = append(times[c], time.Since(start))
					stmts[c] += count.N()
					if err != nil {
						b.Fatalf("%s: %v", bc.name, err)
					}
				}
				n++
			}
			medians := make([]float64, len(cases))
			for c, bc := range cases {
				slices.Sort(times[c])
				medians[c] = float64(times[c][len(times[c])/2]) / float64(time.Millisecond)
				b.ReportMetric(medians[c], bc.name+"-ms")
				b.ReportMetric(float64(stmts[c])/float64(n), bc.name+"-stmts")
			}
			b.ReportMetric(medians[1]/medians[3], "tables/floor")
		})
	}
}

// floorOpen returns what hand-written code does to ready openTables tables
// of the archive layout on db: create each unless it exists, and prepare
// its statements: reads of a key, of its presence and of the count, a
// delete, four writes, the record of a change and a read of several keys.
func floorOpen(ctx context.Context, db *sql.DB, d *dialect.Dialect) func() error {
	c := d.QuoteIdent
	return func() error {
		for i := range openTables {
			table := fmt.Sprintf("floor_%d", i)
			ddl, err := d.CreateTable(table, codec.JSON)
			if err != nil {
				return err
			}
			for _, stmt := range ddl {
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			t := c(table)
			where := " WHERE " + c("key_hash") + " = ?"
			queries := []string{
				"SELECT " + c("value") + ", " + c("expires_at") + " FROM " + t + where,
				"SELECT 1 FROM " + t + where,
				"SELECT COUNT(*) FROM " + t,
				"DELETE FROM " + t + where,
				"SELECT " + c("key_text") + ", " + c("value") + " FROM " + t + " WHERE " + c("key_hash") + " IN (?, ?)",
				"INSERT INTO " + c("klepto_changes") + " (" + c("table_name") + ", " + c("op") + ", " + c("key_hash") + ", " + c("key_text") + ") VALUES (?, ?, ?, ?)",
			}
			for _, cols := range [][]string{
				{"key_hash", "key_text", "value", "size_bytes", "created_at", "updated_at", "expires_at"},
				{"key_hash", "key_text", "args", "value", "size_bytes", "created_at", "updated_at", "expires_at"},
			} {
				for _, update := range [][]string{{"value", "size_bytes", "updated_at", "expires_at"}, nil} {
					q, err := d.Upsert(dialect.Upsert{Table: table, Columns: cols, Key: []string{"key_hash"}, Update: update, Rows: 1})
					if err != nil {
						return err
					}
					queries = append(queries, q)
				}
			}
			var prepared []*sql.Stmt
			for _, q := range queries {
				ps, err := db.PrepareContext(ctx, d.Rebind(q))
				if err != nil {
					return err
				}
				prepared = append(prepared, ps)
			}
			for _, ps := range prepared {
				if err := ps.Close(); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

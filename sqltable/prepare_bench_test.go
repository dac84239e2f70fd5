package sqltable_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqltable"
)

// BenchmarkNoPrepare compares, on PostgreSQL, a Table that prepares its
// statements (the default) with one that sends them as SQL
// (Options.NoPrepare), side by side over a direct connection (with lib/pq,
// also with binary_parameters=yes in the DSN), and the
// latter through PgBouncer in transaction mode when
// KLEPTO_TEST_PGBOUNCER_DSN is set: Get of a stored key, Put of a stored
// key, and PutMany of 100 entries.
func BenchmarkNoPrepare(b *testing.B) {
	pools := []struct {
		name string
		db   func(b *testing.B) *sql.DB
		opts []bool // NoPrepare values
	}{
		{"direct", func(b *testing.B) *sql.DB { return sqltest.Postgres(b) }, []bool{false, true}},
		{"direct-binary_parameters", directBinary, []bool{false, true}},
		{"pgbouncer", func(b *testing.B) *sql.DB { return sqltest.PgBouncer(b).DB }, []bool{true}},
	}
	for _, p := range pools {
		b.Run(p.name, func(b *testing.B) {
			db := p.db(b)
			for _, noPrepare := range p.opts {
				name := "prepared"
				if noPrepare {
					name = "noprepare"
				}
				b.Run(name, func(b *testing.B) { benchPrepare(b, db, noPrepare) })
			}
		})
	}
}

// directBinary returns a pool on a fresh PostgreSQL schema, over a direct
// connection, whose lib/pq DSN has binary_parameters=yes, as behind
// PgBouncer.
func directBinary(b *testing.B) *sql.DB {
	if sqltest.PostgresDriver(b) != "postgres" {
		b.Skip("binary_parameters is lib/pq's")
	}
	pg := sqltest.Fresh(b, dialect.Postgres)
	db, err := sql.Open("postgres", pg.DSN+"&binary_parameters=yes")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

func benchPrepare(b *testing.B, db *sql.DB, noPrepare bool) {
	ctx := context.Background()
	keys := benchKeySet(benchKeys)
	tbl := open[int](b, db, dialect.Postgres, &sqltable.Options{NoPrepare: noPrepare})
	entries := make([]cache.Entry[int], len(keys))
	for i, k := range keys {
		entries[i] = cache.Entry[int]{Key: k, Value: i}
	}
	if err := tbl.PutMany(ctx, entries); err != nil {
		b.Fatal(err)
	}
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok, err := tbl.Get(ctx, keys[i%len(keys)]); err != nil || !ok {
				b.Fatal(ok, err)
			}
			i++
		}
	})
	b.Run("Put", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := tbl.Put(ctx, keys[i%len(keys)], i); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("PutMany100", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			start := (i * 100) % len(entries)
			if err := tbl.PutMany(ctx, entries[start:start+100]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

package sqltable_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
)

// BenchmarkFeed measures what the change feed costs a Put: the same Put on
// two fresh databases, one with the feed (migrated) and one without. A new
// key is an insert if absent, one statement either way; an overwrite with
// the feed runs the upsert and its record in one transaction.
func BenchmarkFeed(b *testing.B) {
	for _, d := range []*dialect.Dialect{dialect.SQLite, dialect.Postgres, dialect.MySQL} {
		b.Run(d.Name(), func(b *testing.B) {
			ctx := context.Background()
			dbs := map[string]*sql.DB{"feed": sqltest.Open(b, d), "none": sqltest.Open(b, d)}
			if err := migrations.Up(ctx, dbs["feed"], &migrations.Options{Dialect: d}); err != nil {
				b.Fatal(err)
			}
			for _, op := range []string{"new", "overwrite"} {
				for _, which := range []string{"none", "feed"} {
					b.Run(op+"/"+which, func(b *testing.B) {
						tbl := open[int](b, dbs[which], d, nil)
						key := keymap.NewKey("(n=0)")
						if err := tbl.Put(ctx, key, 0); err != nil {
							b.Fatal(err)
						}
						b.ReportAllocs()
						i := 0
						for b.Loop() {
							i++
							k := key
							if op == "new" {
								k = keymap.NewKey(fmt.Sprintf("(n=%d)", i))
							}
							if err := tbl.Put(ctx, k, i); err != nil {
								b.Fatal(err)
							}
						}
					})
				}
			}
		})
	}
}

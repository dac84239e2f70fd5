package sqltable_test

import (
	"context"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// BenchmarkReadDB compares a Get on the primary ("primary") with a Get
// through Options.ReadDB on its hot standby ("replica"), of stored keys
// ("hit") and of keys stored nowhere ("miss", which reads the standby and
// then the primary). It needs KLEPTO_TEST_PG_PRIMARY_DSN and
// KLEPTO_TEST_PG_REPLICA_DSN.
func BenchmarkReadDB(b *testing.B) {
	r := sqltest.PostgresReplica(b)
	ctx := context.Background()
	keys := benchKeySet(benchKeys)
	missing := make([]keymap.Key, benchKeys)
	for i := range missing {
		missing[i] = keymap.NewKey("missing" + keys[i].Text)
	}
	primary := open[int](b, r.Primary.DB, dialect.Postgres, nil)
	entries := make([]cache.Entry[int], len(keys))
	for i, k := range keys {
		entries[i] = cache.Entry[int]{Key: k, Value: i}
	}
	if err := primary.PutMany(ctx, entries); err != nil {
		b.Fatal(err)
	}
	r.WaitReplay(b)
	replica, err := sqltable.Open[int](ctx, r.Primary.DB, primary.Name(), &sqltable.Options{Dialect: dialect.Postgres, ReadDB: r.Replica.DB})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = replica.Close() })
	for _, tc := range []struct {
		name string
		tbl  *sqltable.Table[int]
		keys []keymap.Key
		want bool
	}{
		{"primary/hit", primary, keys, true},
		{"replica/hit", replica, keys, true},
		{"primary/miss", primary, missing, false},
		{"replica/miss", replica, missing, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, found, err := tc.tbl.Get(ctx, tc.keys[i%len(tc.keys)])
				if err != nil || found != tc.want {
					b.Fatalf("Get = %v, %v; want found %v", found, err, tc.want)
				}
				i++
			}
		})
	}
}

package sqltable_test

import (
	"context"
	"fmt"
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
	cases := []struct {
		name string
		tbl  *sqltable.Table[int]
		keys []keymap.Key
		want bool
	}{
		{"primary/hit", primary, keys, true},
		{"replica/hit", replica, keys, true},
		{"primary/miss", primary, missing, false},
		{"replica/miss", replica, missing, false},
	}
	for _, tc := range cases {
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
	// The four in turn, each iteration one Get of each, reported as the
	// median of each: side by side under the same load of the machine.
	b.Run("interleaved", func(b *testing.B) {
		var runs []benchCase
		for _, tc := range cases {
			runs = append(runs, benchCase{tc.name, func(i int) error {
				_, found, err := tc.tbl.Get(ctx, tc.keys[i%len(tc.keys)])
				if err == nil && found != tc.want {
					err = fmt.Errorf("Get found %v, want %v", found, tc.want)
				}
				return err
			}})
		}
		interleave(b, nil, runs...)
	})
}

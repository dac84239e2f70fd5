package sqltable_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// Reads, counted by an AccessLog, choose what a bounded Table evicts, as
// a model of each order says: 100 keys are stored, keys 30-59 read once,
// keys 0-29 five times, then 40 new keys stored. LRU keeps the keys read
// last, LFU the keys read most, and LRS, which ignores reads, the keys
// stored last; the keys never read go first in every order but LRS.
func TestEvictionFollowsReads(t *testing.T) {
	const (
		bound = 100
		fresh = 40
	)
	in := func(lo, hi int) []int {
		var ks []int
		for i := lo; i < hi; i++ {
			ks = append(ks, i)
		}
		return ks
	}
	hot, warm, cold := in(0, 30), in(30, 60), in(60, 100)
	for _, tc := range []struct {
		evict      sqltable.Evict
		kept, gone []int
	}{
		{sqltable.EvictLRU, hot, cold},
		{sqltable.EvictLFU, append(hot, warm...), cold},
		{sqltable.EvictLRS, in(100, 100+fresh), in(0, fresh)},
	} {
		t.Run(tc.evict.String(), func(t *testing.T) {
			sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
				ctx := t.Context()
				log, err := sqltable.NewAccessLog(&sqltable.AccessLogOptions{FlushInterval: -1})
				if err != nil {
					t.Fatal(err)
				}
				defer log.Close()
				// A clock a millisecond further at each call, so that the
				// times of SQLite (milliseconds) order every write and
				// read; an hour ahead of the database's, which sets
				// accessed_at on insert.
				base := time.Now().UTC().Add(time.Hour).Truncate(time.Millisecond)
				var ticks atomic.Int64
				clock := func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * time.Millisecond) }
				tbl := open[int](t, db, d, &sqltable.Options{AccessLog: log, MaxEntries: bound, Evict: tc.evict, Clock: clock})
				key := func(i int) keymap.Key { return keymap.NewKey(fmt.Sprintf("k%d", i)) }
				pause := func() { ticks.Add(10) }
				for i := range bound {
					if err := tbl.Put(ctx, key(i), i); err != nil {
						t.Fatal(err)
					}
				}
				pause()
				read := func(ks []int, times int) {
					for range times {
						for _, i := range ks {
							if _, ok, err := tbl.Get(ctx, key(i)); err != nil || !ok {
								t.Fatalf("Get(%d) = %v, %v", i, ok, err)
							}
						}
					}
				}
				read(warm, 1)
				pause()
				read(hot, 5)
				if err := log.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				pause()
				for i := bound; i < bound+fresh; i++ {
					if err := tbl.Put(ctx, key(i), i); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := tbl.Evict(ctx); err != nil {
					t.Fatal(err)
				}
				if n, err := tbl.Len(ctx); err != nil || n > bound {
					t.Fatalf("Len = %d, %v; want at most %d", n, err, bound)
				}
				has := func(i int) bool {
					ok, err := tbl.Has(context.WithoutCancel(ctx), key(i))
					if err != nil {
						t.Fatal(err)
					}
					return ok
				}
				for _, i := range tc.kept {
					if !has(i) {
						t.Errorf("key %d was evicted; %v keeps it", i, tc.evict)
					}
				}
				for _, i := range tc.gone {
					if has(i) {
						t.Errorf("key %d was kept; %v evicts it first", i, tc.evict)
					}
				}
			})
		})
	}
}

package sqlarchive_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

var _ cache.ValueChecker[float64] = (*sqltable.Table[float64])(nil)

// A memo over a SQL table with the JSON codec treats a result that JSON
// cannot encode (NaN, ±Inf) the same way on every call: it returns it with
// an error matching codec.ErrEncode, keeps it neither in memory nor in the
// table, and computes it again on the next call.
func TestUnencodableResults(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		a := open(t, db, d, nil)
		fn := func(_ context.Context, n int) (float64, error) {
			return []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1.5}[n], nil
		}
		for i, writeBack := range []bool{false, true} {
			memos := map[string]func(t *testing.T) (*cache.Memo[int, float64], *sqltable.Table[float64]){
				"sqlarchive.Memoize": func(t *testing.T) (*cache.Memo[int, float64], *sqltable.Table[float64]) {
					name := fmt.Sprintf("shared%d", i)
					m, err := sqlarchive.Memoize(t.Context(), a, name, fn,
						&sqlarchive.MemoizeOptions[float64]{Memo: cache.MemoOptions[float64]{WriteBack: writeBack}})
					if err != nil {
						t.Fatal(err)
					}
					return m, table[float64](t, a, name, nil)
				},
				"cache.Memoize": func(t *testing.T) (*cache.Memo[int, float64], *sqltable.Table[float64]) {
					tbl := table[float64](t, a, fmt.Sprintf("plain%d", i), nil)
					m, err := cache.Memoize(fn, &cache.MemoOptions[float64]{Archive: tbl, WriteBack: writeBack})
					if err != nil {
						t.Fatal(err)
					}
					return m, tbl
				},
			}
			for name, memo := range memos {
				t.Run(fmt.Sprintf("%s/writeBack=%v", name, writeBack), func(t *testing.T) {
					m, tbl := memo(t)
					ctx := t.Context()
					for n := range 3 {
						for call := range 2 {
							if _, err := m.Call(ctx, n); !errors.Is(err, codec.ErrEncode) {
								t.Fatalf("call %d of %d: %v, want an error matching codec.ErrEncode", call, n, err)
							}
						}
						if _, ok, _ := m.Lookup(n); ok {
							t.Fatalf("the result of %d is in memory", n)
						}
					}
					if v, err := m.Call(ctx, 3); v != 1.5 || err != nil {
						t.Fatalf("Call(3) = %v, %v; want 1.5", v, err)
					}
					if err := m.Dump(ctx); err != nil {
						t.Fatalf("Dump: %v", err)
					}
					if n, err := tbl.Len(ctx); n != 1 || err != nil {
						t.Fatalf("the table holds %d rows (%v), want 1", n, err)
					}
					if info := m.Info(); info.Misses != 7 {
						t.Fatalf("Info() = %+v, want 7 misses: every call of 0, 1 and 2 ran the function", info)
					}
				})
			}
		}
	})
}

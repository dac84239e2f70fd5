package sqlarchive_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// A write-back memo over a table writes no row for a result it read from
// the table: reading every row through a memory of 3 leaves each row as it
// was written, and the new results reach the table once memory lets them
// go.
func TestWriteBackRewritesNothing(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		var mu sync.Mutex
		now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		a := open(t, db, d, &sqlarchive.Options{Clock: clock})
		id := func(_ context.Context, n int) (int, error) { return n, nil }
		memo := func(writeBack bool) *cache.Memo[int, int] {
			m, err := sqlarchive.Memoize(ctx, a, "id", id, &sqlarchive.MemoizeOptions[int]{
				Memo:     cache.MemoOptions[int]{MaxSize: 3, WriteBack: writeBack},
				NoFollow: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		calls := func(m *cache.Memo[int, int], ns ...int) {
			t.Helper()
			for _, n := range ns {
				if got, err := m.Call(ctx, n); err != nil || got != n {
					t.Fatalf("Call(%d) = %d, %v", n, got, err)
				}
			}
		}
		written := now
		calls(memo(false), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)

		mu.Lock()
		now = now.Add(time.Hour)
		mu.Unlock()
		m := memo(true)
		calls(m, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3)
		st, err := a.Stats(ctx, "id")
		if err != nil {
			t.Fatal(err)
		}
		if info := m.Info(); info.Loads != 14 || st.Rows != 10 || !st.Newest.Equal(written) {
			t.Fatalf("after 14 loads: %+v, table %+v; want every row as written at %v", info, st, written)
		}
		calls(m, 20, 21, 22, 4, 5, 6)
		if st, err = a.Stats(ctx, "id"); err != nil {
			t.Fatal(err)
		}
		if st.Rows != 13 || !st.Newest.Equal(now) {
			t.Fatalf("after 3 new results left memory: table %+v, want 13 rows, the newest at %v", st, now)
		}
	})
}

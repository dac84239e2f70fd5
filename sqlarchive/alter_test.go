package sqlarchive_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// tableRows returns the rows of table.
func tableRows(t *testing.T, db sqltest.Database, table string) int64 {
	t.Helper()
	var n int64
	if err := db.DB.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+db.Dialect.QuoteIdent(table)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Bad input to Alter is a clear error, and changes nothing.
func TestAlterInvalid(t *testing.T) {
	db := sqltest.SQLite(t)
	a := open(t, db, dialect.SQLite, nil)
	ctx := t.Context()
	table[int](t, a, "fib", &sqlarchive.TableOptions{MaxEntries: new(int64(100)), TTL: new(time.Hour)})
	before, err := a.Info(ctx, "fib")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts sqlarchive.AlterOptions
		want string
	}{
		{"nothing", sqlarchive.AlterOptions{}, "nothing to change"},
		{"zero entries", sqlarchive.AlterOptions{MaxEntries: new(int64(0))}, "MaxEntries 0 is not a bound"},
		{"negative entries", sqlarchive.AlterOptions{MaxEntries: new(int64(-5))}, "MaxEntries -5 is not a bound"},
		{"zero bytes", sqlarchive.AlterOptions{MaxBytes: new(int64(0))}, "MaxBytes 0 is not a bound"},
		{"entries under a batch", sqlarchive.AlterOptions{MaxEntries: new(int64(3))}, "MaxEntries 3 is smaller than one eviction batch (10 entries)"},
		{"bytes under a batch", sqlarchive.AlterOptions{MaxBytes: new(int64(1000))}, "MaxBytes 1000 is smaller than one eviction batch (4096 bytes)"},
		{"unknown order", sqlarchive.AlterOptions{Evict: new(sqltable.Evict(9))}, "unknown eviction order Evict(9)"},
		{"negative TTL", sqlarchive.AlterOptions{TTL: new(-time.Second)}, "negative TTL -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Alter(ctx, "fib", tc.opts)
			if !errors.Is(err, sqlarchive.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) ||
				!strings.HasPrefix(err.Error(), `sqlarchive: alter "fib": `) {
				t.Fatalf("got %v, want an ErrInvalidOptions saying %q", err, tc.want)
			}
			after, err := a.Info(ctx, "fib")
			if err != nil || !reflect.DeepEqual(after, before) {
				t.Fatalf("the catalog changed: %+v, %v", after, err)
			}
		})
	}
	_, err = a.Alter(ctx, "nope", sqlarchive.AlterOptions{MaxEntries: new(int64(100))})
	if !errors.Is(err, sqlarchive.ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("alter of a missing archive: %v", err)
	}
	if _, err := a.Info(ctx, "nope"); !errors.Is(err, sqlarchive.ErrNotFound) {
		t.Fatalf("alter made the missing archive: %v", err)
	}
	// Table refuses bad bounds too.
	_, err = sqlarchive.Table[int](ctx, a, "other", &sqlarchive.TableOptions{MaxEntries: new(int64(-1))})
	if !errors.Is(err, sqlarchive.ErrInvalidOptions) {
		t.Fatalf("Table with a negative bound: %v", err)
	}
}

// Bounds are recorded in the catalog; Alter changes bounds, order and TTL,
// the table of this process takes them at once, and the next write
// enforces them. Archives opened with the old settings are refused, those
// opened without take the new ones.
func TestAlter(t *testing.T) {
	for _, dl := range sqltest.Dialects() {
		t.Run(dl.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, dl)
			a := open(t, db.DB, dl, nil)
			ctx := t.Context()
			tbl := table[int](t, a, "fib", &sqlarchive.TableOptions{MaxEntries: new(int64(100)), TTL: new(time.Hour)})
			info, err := a.Info(ctx, "fib")
			if err != nil {
				t.Fatal(err)
			}
			if want := (sqltable.Bounds{MaxEntries: 100}); info.Bounds != want || info.TTL != time.Hour {
				t.Fatalf("catalog bounds %+v, TTL %v", info.Bounds, info.TTL)
			}
			for i := range 300 {
				put(t, tbl, fmt.Sprint(i), i)
			}
			if n := tableRows(t, db, "fib"); n > 100+10 {
				t.Fatalf("%d rows, over 100 + one batch", n)
			}
			info, err = a.Alter(ctx, "fib", sqlarchive.AlterOptions{
				MaxEntries: new(int64(40)), MaxBytes: new(int64(1 << 20)), Evict: new(sqltable.EvictLRU), TTL: new(2 * time.Hour),
			})
			if err != nil {
				t.Fatal(err)
			}
			want := sqltable.Bounds{MaxEntries: 40, MaxBytes: 1 << 20, Evict: sqltable.EvictLRU}
			if got, err := a.Info(ctx, "fib"); err != nil || got.Bounds != want || got.TTL != 2*time.Hour || !reflect.DeepEqual(got, info) {
				t.Fatalf("catalog after alter: %+v, %v", got, err)
			}
			if tbl.Bounds() != want || tbl.TTL() != 2*time.Hour {
				t.Fatalf("table after alter: %+v, %v", tbl.Bounds(), tbl.TTL())
			}
			put(t, tbl, "next", 1)
			if n := tableRows(t, db, "fib"); n > 40 {
				t.Fatalf("%d rows after the next write, over 40", n)
			}
			_, exp, found, err := tbl.GetExpiry(ctx, keymap.NewKey("next"))
			if err != nil || !found || time.Until(exp) < 90*time.Minute {
				t.Fatalf("the next write expires at %v (found %v, %v), want in 2 hours", exp, found, err)
			}
			// Opened again: with the old TTL refused, without it as altered.
			_, err = sqlarchive.Table[int](ctx, a, "fib", &sqlarchive.TableOptions{TTL: new(time.Hour)})
			if _, ok := errors.AsType[*sqlarchive.MismatchError](err); !ok {
				t.Fatalf("open with the old TTL: %v", err)
			}
			_, err = sqlarchive.Table[int](ctx, a, "fib", &sqlarchive.TableOptions{MaxEntries: new(int64(100))})
			if me, ok := errors.AsType[*sqlarchive.MismatchError](err); !ok || me.Field != "max entries" {
				t.Fatalf("open with the old bound: %v", err)
			}
			again := table[int](t, a, "fib", nil)
			if again.Bounds() != want || again.TTL() != 2*time.Hour {
				t.Fatalf("opened again: %+v, %v", again.Bounds(), again.TTL())
			}
			// Removing the bounds.
			if _, err := a.Alter(ctx, "fib", sqlarchive.AlterOptions{NoMaxEntries: true, NoMaxBytes: true}); err != nil {
				t.Fatal(err)
			}
			for i := range 100 {
				put(t, tbl, fmt.Sprint(i), i)
			}
			if n := tableRows(t, db, "fib"); n < 100 {
				t.Fatalf("%d rows without bounds", n)
			}
		})
	}
}

// Alter and evictions reach the memos of other processes through the
// change feed: the memo forgets the evicted keys, and writes with the
// new TTL.
func TestAlterReachesOtherProcess(t *testing.T) {
	for _, dl := range sqltest.Dialects() {
		t.Run(dl.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, dl)
			writer, reader := twoPools(t, db, &sqlarchive.Options{PollInterval: 10 * time.Millisecond})
			ctx := t.Context()
			var calls atomic.Int64
			m, err := sqlarchive.Memoize(ctx, reader, "sq", func(_ context.Context, a nArgs) (int, error) {
				calls.Add(1)
				return a.N * a.N, nil
			}, &sqlarchive.MemoizeOptions[int]{Table: sqlarchive.TableOptions{MaxEntries: new(int64(50))}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Call(ctx, nArgs{3}); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Call(ctx, nArgs{3}); err != nil || calls.Load() != 1 {
				t.Fatalf("second call computed again: %d calls, %v", calls.Load(), err)
			}
			// Another process fills the table: the memo's key is evicted,
			// and the memo forgets it.
			tbl := table[int](t, writer, "sq", nil)
			for i := range 100 {
				put(t, tbl, fmt.Sprint("other", i), i)
			}
			eventually(t, "the eviction did not reach memory", func() bool {
				if _, err := m.Call(ctx, nArgs{3}); err != nil {
					t.Fatal(err)
				}
				return calls.Load() > 1
			})
			// Another process alters the TTL: the memo drops its memory,
			// and its next write uses the new TTL.
			eventually(t, "the memo holds nothing before the alter", func() bool {
				if _, err := m.Call(ctx, nArgs{3}); err != nil {
					t.Fatal(err)
				}
				return m.Info().Size > 0
			})
			if _, err := writer.Alter(ctx, "sq", sqlarchive.AlterOptions{TTL: new(5 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the alter did not clear the memo's memory", func() bool { return m.Info().Size == 0 })
			eventually(t, "the alter did not reach the memo", func() bool {
				n := calls.Load()
				k := nArgs{int(n) + 1000}
				if _, err := m.Call(ctx, k); err != nil {
					t.Fatal(err)
				}
				key, _ := m.Key(k)
				_, exp, found, err := tbl.GetExpiry(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				return found && time.Until(exp) > 4*time.Hour
			})
		})
	}
}

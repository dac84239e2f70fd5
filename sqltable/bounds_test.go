package sqltable_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqltable"
)

// countRows returns the rows and the sum of size_bytes of table.
func countRows(t *testing.T, db *sql.DB, d *dialect.Dialect, table string) (rows, bytes int64) {
	t.Helper()
	q := "SELECT COUNT(*), COALESCE(SUM(" + d.QuoteIdent("size_bytes") + "), 0) FROM " + d.QuoteIdent(table)
	if err := db.QueryRowContext(t.Context(), q).Scan(&rows, &bytes); err != nil {
		t.Fatal(err)
	}
	return rows, bytes
}

func TestBoundsInvalid(t *testing.T) {
	db := sqltest.SQLite(t)
	for _, tc := range []struct {
		name string
		opts sqltable.Options
		want string
	}{
		{"negative entries", sqltable.Options{MaxEntries: -1}, "negative MaxEntries -1"},
		{"entries under a batch", sqltable.Options{MaxEntries: 5}, "MaxEntries 5 is smaller than one eviction batch (10 entries)"},
		{"negative bytes", sqltable.Options{MaxBytes: -1}, "negative MaxBytes -1"},
		{"bytes under a batch", sqltable.Options{MaxBytes: 100}, "MaxBytes 100 is smaller than one eviction batch (4096 bytes)"},
		{"unknown order", sqltable.Options{MaxEntries: 100, Evict: 7}, "unknown eviction order Evict(7)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sqltable.Open[int](t.Context(), db, "fib", &tc.opts)
			if !errors.Is(err, sqltable.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrInvalidOptions saying %q", err, tc.want)
			}
		})
	}
	if _, err := sqltable.ParseEvict("mru"); err == nil || !strings.Contains(err.Error(), `unknown eviction order "mru"`) {
		t.Fatalf("ParseEvict(mru): %v", err)
	}
	for _, e := range []sqltable.Evict{sqltable.EvictLRS, sqltable.EvictLRU, sqltable.EvictLFU} {
		if got, err := sqltable.ParseEvict(e.String()); err != nil || got != e {
			t.Fatalf("ParseEvict(%v) = %v, %v", e, got, err)
		}
	}
	// SetBounds refuses the same, and keeps the bounds it had.
	tbl, err := sqltable.Open[int](t.Context(), db, "fib", &sqltable.Options{MaxEntries: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	if err := tbl.SetBounds(t.Context(), sqltable.Bounds{MaxEntries: 3}); !errors.Is(err, sqltable.ErrInvalidOptions) {
		t.Fatalf("SetBounds(3): %v", err)
	}
	if err := tbl.SetTTL(-time.Second); !errors.Is(err, sqltable.ErrInvalidOptions) {
		t.Fatalf("SetTTL(-1s): %v", err)
	}
	if b := tbl.Bounds(); b.MaxEntries != 100 {
		t.Fatalf("bounds after a refused SetBounds: %+v", b)
	}
}

// Writes past MaxEntries evict the least recently stored entries, so that
// the table never holds more than the bound plus one batch, with Put,
// PutArgs and PutMany; each eviction is in the change feed.
func TestBoundsMaxEntries(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
			t.Fatal(err)
		}
		const bound = 200
		clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		tbl, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{
			MaxEntries: bound, RequireFeed: true,
			Clock: func() time.Time { clock = clock.Add(time.Millisecond); return clock },
		})
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Close()
		batch, _ := tbl.Bounds().EvictBatch()
		if batch != sqltable.MinEvictBatch {
			t.Fatalf("batch %d", batch)
		}
		const n = 1000
		for i := range n {
			key := keymap.NewKey(fmt.Sprint(i))
			switch {
			case i < n/2:
				err = tbl.Put(ctx, key, i)
			case i < 3*n/4:
				err = tbl.PutArgs(ctx, key, []any{i}, i)
			default:
				err = tbl.PutMany(ctx, []cache.Entry[int]{{Key: key, Value: i}})
			}
			if err != nil {
				t.Fatal(err)
			}
			if rows, _ := countRows(t, db, d, "fib"); rows > bound+batch {
				t.Fatalf("after %d writes, %d rows, over %d + one batch of %d", i+1, rows, bound, batch)
			}
		}
		// The newest survive, the oldest went.
		for _, i := range []int{0, n - bound, n - 1} {
			_, found, err := tbl.Get(ctx, keymap.NewKey(fmt.Sprint(i)))
			if err != nil {
				t.Fatal(err)
			}
			if want := i >= n-bound/2; found != want && (i == 0 || i == n-1) {
				t.Fatalf("key %d found %v", i, found)
			}
		}
		var evicted int
		q := d.Rebind("SELECT COUNT(*) FROM klepto_changes WHERE op = 'evict' AND table_name = ?")
		if err := db.QueryRowContext(ctx, q, "fib").Scan(&evicted); err != nil {
			t.Fatal(err)
		}
		rows, _ := countRows(t, db, d, "fib")
		if int64(evicted)+rows != n {
			t.Fatalf("%d evictions recorded, %d rows left, of %d written", evicted, rows, n)
		}
	})
}

// Writes past MaxBytes evict until the sum of size_bytes is within the
// bound plus one batch.
func TestBoundsMaxBytes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		const bound = 40000
		tbl, err := sqltable.Open[string](ctx, db, "blobs", &sqltable.Options{MaxBytes: bound})
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Close()
		_, batch := tbl.Bounds().EvictBatch()
		value := strings.Repeat("x", 98) // 100 bytes of JSON
		for i := range 1500 {
			if err := tbl.Put(ctx, keymap.NewKey(fmt.Sprint(i)), value); err != nil {
				t.Fatal(err)
			}
			if _, bytes := countRows(t, db, d, "blobs"); bytes > bound+batch {
				t.Fatalf("after %d writes, %d bytes, over %d + one batch of %d", i+1, bytes, bound, batch)
			}
		}
		if _, err := tbl.Evict(ctx); err != nil {
			t.Fatal(err)
		}
		if _, bytes := countRows(t, db, d, "blobs"); bytes > bound {
			t.Fatalf("after Evict, %d bytes, over %d", bytes, bound)
		}
	})
}

// The eviction orders: least recently stored by updated_at, least
// recently used by accessed_at then updated_at, least frequently used by
// hits then accessed_at.
func TestBoundsOrder(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		for _, e := range []sqltable.Evict{sqltable.EvictLRS, sqltable.EvictLRU, sqltable.EvictLFU} {
			t.Run(e.String(), func(t *testing.T) {
				name := "ord_" + e.String()
				base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
				clock := base
				tbl, err := sqltable.Open[int](ctx, db, name, &sqltable.Options{
					Clock: func() time.Time { clock = clock.Add(time.Second); return clock },
				})
				if err != nil {
					t.Fatal(err)
				}
				defer tbl.Close()
				const n = 30
				for i := range n {
					if err := tbl.Put(ctx, keymap.NewKey(fmt.Sprint(i)), i); err != nil {
						t.Fatal(err)
					}
				}
				// Key i was read at base + (n-i) hours, i hits: the
				// stored order, the used order and the frequency order
				// disagree.
				for i := range n {
					q := d.Rebind("UPDATE " + d.QuoteIdent(name) + " SET accessed_at = ?, hits = ? WHERE key_text = ?")
					if _, err := db.ExecContext(ctx, q, d.TimeArg(base.Add(time.Duration(n-i)*time.Hour)), (i*7)%n, fmt.Sprint(i)); err != nil {
						t.Fatal(err)
					}
				}
				if err := tbl.SetBounds(ctx, sqltable.Bounds{MaxEntries: 20, Evict: e}); err != nil {
					t.Fatal(err)
				}
				if evicted, err := tbl.Evict(ctx); err != nil || evicted != 20 { // 10 past, one batch of 10
					t.Fatalf("evicted %d, %v", evicted, err)
				}
				var kept []int
				for i := range n {
					if ok, err := tbl.Has(ctx, keymap.NewKey(fmt.Sprint(i))); err != nil {
						t.Fatal(err)
					} else if ok {
						kept = append(kept, i)
					}
				}
				var want []int
				for i := range n {
					switch e {
					case sqltable.EvictLRS:
						if i >= 20 {
							want = append(want, i)
						}
					case sqltable.EvictLRU:
						if i < 10 {
							want = append(want, i)
						}
					case sqltable.EvictLFU:
						if (i*7)%n >= 20 {
							want = append(want, i)
						}
					}
				}
				if fmt.Sprint(kept) != fmt.Sprint(want) {
					t.Fatalf("kept %v, want %v", kept, want)
				}
			})
		}
	})
}

// SetBounds and SetTTL take effect at the next write: it evicts down to
// the new bound, and writes with the new TTL; rows written before keep
// their expiry.
func TestBoundsSet(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		tbl, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{TTL: time.Hour, Clock: func() time.Time {
			now = now.Add(time.Millisecond)
			return now
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Close()
		var entries []cache.Entry[int]
		for i := range 500 {
			entries = append(entries, cache.Entry[int]{Key: keymap.NewKey(fmt.Sprint(i)), Value: i})
		}
		if err := tbl.PutMany(ctx, entries); err != nil {
			t.Fatal(err)
		}
		if err := tbl.SetBounds(ctx, sqltable.Bounds{MaxEntries: 100}); err != nil {
			t.Fatal(err)
		}
		if err := tbl.SetTTL(3 * time.Hour); err != nil {
			t.Fatal(err)
		}
		if rows, _ := countRows(t, db, d, "fib"); rows != 500 {
			t.Fatalf("%d rows before the next write", rows)
		}
		if err := tbl.Put(ctx, keymap.NewKey("new"), 1); err != nil {
			t.Fatal(err)
		}
		written := now
		if rows, _ := countRows(t, db, d, "fib"); rows > 100 {
			t.Fatalf("%d rows after the next write, over 100", rows)
		}
		_, exp, _, err := tbl.GetExpiry(ctx, keymap.NewKey("new"))
		if err != nil || !exp.Equal(written.Add(3*time.Hour)) {
			t.Fatalf("new entry expires %v, %v", exp, err)
		}
		// Entries written before SetTTL keep their expires_at.
		var old int
		q := d.Rebind("SELECT COUNT(*) FROM fib WHERE expires_at < ?")
		if err := db.QueryRowContext(ctx, q, d.TimeArg(written.Add(2*time.Hour))).Scan(&old); err != nil {
			t.Fatal(err)
		}
		if old == 0 {
			t.Fatal("no entry kept its expiry of one hour")
		}
		// Unbounded again: nothing more is evicted.
		if err := tbl.SetBounds(ctx, sqltable.Bounds{}); err != nil {
			t.Fatal(err)
		}
		if err := tbl.PutMany(ctx, entries); err != nil {
			t.Fatal(err)
		}
		if rows, _ := countRows(t, db, d, "fib"); rows < 500 {
			t.Fatalf("%d rows without bounds", rows)
		}
	})
}

// Evict runs within the caller's context.
func TestBoundsEvictContext(t *testing.T) {
	db := sqltest.SQLite(t)
	tbl, err := sqltable.Open[int](t.Context(), db, "fib", &sqltable.Options{MaxEntries: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := tbl.Evict(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Evict with a canceled context: %v", err)
	}
}

// hasIndex reports whether the database has an index called name.
func hasIndex(t *testing.T, db *sql.DB, d *dialect.Dialect, name string) bool {
	t.Helper()
	var q string
	switch d {
	case dialect.SQLite:
		q = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?"
	case dialect.Postgres:
		q = "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1"
	default:
		q = "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = ?"
	}
	var n int
	if err := db.QueryRowContext(t.Context(), q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// Open with bounds creates the index of the eviction order, on a new
// table and on one that exists without it; opening again is no error.
func TestBoundsIndex(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		plain, err := sqltable.Open[int](ctx, db, "fib", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer plain.Close()
		sum := sha256.Sum256([]byte("fib"))
		name := "klepto_evict_" + hex.EncodeToString(sum[:8]) + "_lfu"
		if hasIndex(t, db, d, name) {
			t.Fatal("an unbounded table has the index")
		}
		for range 2 {
			tbl, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{MaxEntries: 100, Evict: sqltable.EvictLFU})
			if err != nil {
				t.Fatal(err)
			}
			tbl.Close()
			if !hasIndex(t, db, d, name) {
				t.Fatalf("no index %s", name)
			}
		}
	})
}

// A write whose eviction fails has stored its entry, and returns an error
// wrapping ErrEvict; the next write evicts.
func TestBoundsEvictFails(t *testing.T) {
	var fail atomic.Bool
	db := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
		if fail.Load() && op == sqltest.OpExec && strings.HasPrefix(query, `DELETE FROM "fib"`) {
			return errors.New("injected failure")
		}
		return nil
	})
	ctx := t.Context()
	tbl, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: dialect.SQLite, MaxEntries: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	for i := range 10 {
		if err := tbl.Put(ctx, keymap.NewKey(fmt.Sprint(i)), i); err != nil {
			t.Fatal(err)
		}
	}
	fail.Store(true)
	err = tbl.Put(ctx, keymap.NewKey("10"), 10)
	if !errors.Is(err, sqltable.ErrEvict) || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("put with a failing eviction: %v", err)
	}
	if _, found, err := tbl.Get(ctx, keymap.NewKey("10")); err != nil || !found {
		t.Fatalf("the entry was not stored: %v, %v", found, err)
	}
	fail.Store(false)
	if err := tbl.Put(ctx, keymap.NewKey("11"), 11); err != nil {
		t.Fatal(err)
	}
	if n, err := tbl.Len(ctx); err != nil || n > 10 {
		t.Fatalf("after the next write: %d entries, %v", n, err)
	}
}

// A read does not wait for an eviction under way: it sees the table as
// it was before.
func TestBoundsReadDuringEviction(t *testing.T) {
	var block atomic.Bool
	reached, release := make(chan struct{}), make(chan struct{})
	db := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
		if op == sqltest.OpExec && strings.HasPrefix(query, `DELETE FROM "fib"`) && block.CompareAndSwap(true, false) {
			close(reached)
			<-release
		}
		return nil
	})
	ctx := t.Context()
	tbl, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: dialect.SQLite, MaxEntries: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	for i := range 10 {
		if err := tbl.Put(ctx, keymap.NewKey(fmt.Sprint(i)), i); err != nil {
			t.Fatal(err)
		}
	}
	block.Store(true)
	done := make(chan error, 1)
	go func() { done <- tbl.Put(ctx, keymap.NewKey("10"), 10) }()
	<-reached
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, found, err := tbl.Get(rctx, keymap.NewKey("0"))
	if err != nil || !found || v != 0 {
		t.Errorf("get during an eviction: %v, %v, %v", v, found, err)
	}
	if n, err := tbl.Len(rctx); err != nil || n != 11 {
		t.Errorf("len during an eviction: %d, %v", n, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, err := tbl.Len(ctx); err != nil || n > 10 {
		t.Fatalf("after the eviction: %d, %v", n, err)
	}
}

// On every database, reads do not wait for the locks of an eviction that
// has not committed: its victims locked FOR UPDATE (on the servers) and
// deleted.
func TestBoundsReadDuringEvictionLocks(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		tbl, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{MaxEntries: 10})
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Close()
		for i := range 5 {
			if err := tbl.Put(ctx, keymap.NewKey(fmt.Sprint(i)), i); err != nil {
				t.Fatal(err)
			}
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		lock := "SELECT key_hash FROM fib ORDER BY updated_at LIMIT 5"
		if d != dialect.SQLite {
			lock += " FOR UPDATE"
		}
		rows, err := tx.QueryContext(ctx, lock)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if _, err := tx.ExecContext(ctx, "DELETE FROM fib"); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, found, err := tbl.Get(rctx, keymap.NewKey("0")); err != nil || !found {
			t.Fatalf("get during an eviction: %v, %v", found, err)
		}
		if n, err := tbl.Len(rctx); err != nil || n != 5 {
			t.Fatalf("len during an eviction: %d, %v", n, err)
		}
	})
}

// A bounded table checks its bounds after each eighth of a batch of its
// writes, and a check that finds the table within its bounds begins no
// transaction: only evictions do.
func TestBoundsCheckCost(t *testing.T) {
	var counts, begins atomic.Int64
	db := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
		switch {
		case op == sqltest.OpQuery && strings.HasPrefix(query, "SELECT COUNT(*)"):
			counts.Add(1)
		case op == sqltest.OpBegin:
			begins.Add(1)
		}
		return nil
	})
	ctx := t.Context()
	const bound, batch = 1000, 50
	tbl, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: dialect.SQLite, MaxEntries: bound})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	counts.Store(0)
	begins.Store(0)
	put := func(from, to int) {
		for i := from; i < to; i++ {
			if err := tbl.Put(ctx, keymap.NewKey(fmt.Sprint(i)), i); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Filling to the bound: a check every 6 writes, none in a transaction.
	put(0, bound)
	if n := counts.Load(); n < bound/7 || n > bound/6+1 {
		t.Errorf("filling to the bound counted %d times, want one every 6 writes", n)
	}
	if n := begins.Load(); n != 0 {
		t.Errorf("filling to the bound began %d transactions, want 0", n)
	}
	// At the bound: each eviction (of a batch and what the last check
	// missed) in one transaction that counts again; the checks between
	// evictions begin none.
	counts.Store(0)
	begins.Store(0)
	put(bound, bound+200*batch)
	evictions := begins.Load()
	if evictions < 150 || evictions > 200 {
		t.Errorf("200 batches past the bound began %d transactions, want one an eviction, 150 to 200", evictions)
	}
	if n := counts.Load() - evictions; n < 200*batch/7 || n > 200*batch/6+1 {
		t.Errorf("%d writes past the bound made %d checks, want one every 6 writes", 200*batch, n)
	}
	if n, err := tbl.Len(ctx); err != nil || n > bound {
		t.Errorf("table holds %d entries, %v; want at most %d", n, err, bound)
	}
}

package sqltable_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqltable"
)

// newAccessLog returns an AccessLog that flushes only when asked, closed
// when the test ends.
func newAccessLog(t testing.TB, opts *sqltable.AccessLogOptions) *sqltable.AccessLog {
	t.Helper()
	o := sqltable.AccessLogOptions{FlushInterval: -1}
	if opts != nil {
		o = *opts
	}
	l, err := sqltable.NewAccessLog(&o)
	if err != nil {
		t.Fatalf("NewAccessLog: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// rowStats is what a row holds besides its key.
type rowStats struct {
	hits     int64
	accessed time.Time
	updated  time.Time
	value    string
}

// readRow reads the row of key in the table of tbl.
func readRow(t *testing.T, db *sql.DB, d *dialect.Dialect, table string, key keymap.Key) (rowStats, bool) {
	t.Helper()
	var r rowStats
	c := d.QuoteIdent
	err := db.QueryRowContext(t.Context(), d.Rebind("SELECT "+c("hits")+", "+c("accessed_at")+", "+c("updated_at")+", "+c("value")+
		" FROM "+c(table)+" WHERE "+c("key_hash")+" = ?"), key.Hash[:]).
		Scan(&r.hits, d.ScanTime(&r.accessed), d.ScanTime(&r.updated), &r.value)
	if errors.Is(err, sql.ErrNoRows) {
		return rowStats{}, false
	}
	if err != nil {
		t.Fatalf("read the row of %s: %v", key.Text, err)
	}
	return r, true
}

// migrate applies klepto's migrations, which make the change feed.
func migrate(t *testing.T, db *sql.DB, d *dialect.Dialect) {
	t.Helper()
	if err := migrations.Up(t.Context(), db, &migrations.Options{Dialect: d}); err != nil && !errors.Is(err, migrations.ErrNoChange) {
		t.Fatalf("migrations.Up: %v", err)
	}
}

// countChanges returns how many changes the change feed holds.
func countChanges(t *testing.T, db *sql.DB, d *dialect.Dialect) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+d.QuoteIdent(migrations.ChangesTable)).Scan(&n); err != nil {
		t.Fatalf("count changes: %v", err)
	}
	return n
}

// clock is a settable clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestAccessLogCountsReads(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		// Later than the databases' clocks, which set accessed_at on insert.
		clk := &clock{now: time.Now().UTC().Add(time.Hour).Truncate(time.Millisecond)}
		log := newAccessLog(t, nil)
		tbl := open[int](t, db, d, &sqltable.Options{AccessLog: log, Clock: clk.Now})
		a, b, missing := keymap.NewKey("a"), keymap.NewKey("b"), keymap.NewKey("missing")
		if err := tbl.PutMany(ctx, []cache.Entry[int]{{Key: a, Value: 1}, {Key: b, Value: 2}}); err != nil {
			t.Fatal(err)
		}
		before, _ := readRow(t, db, d, tbl.Name(), a)
		for range 3 {
			if _, found, err := tbl.Get(ctx, a); err != nil || !found {
				t.Fatalf("Get = %v, %v", found, err)
			}
		}
		clk.now = clk.now.Add(time.Minute)
		if _, _, found, err := tbl.GetExpiry(ctx, a); err != nil || !found {
			t.Fatalf("GetExpiry = %v, %v", found, err)
		}
		if _, err := tbl.GetMany(ctx, []keymap.Key{a, b, missing}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tbl.Get(ctx, missing); err != nil {
			t.Fatal(err)
		}
		// Nothing is written before the flush.
		if r, _ := readRow(t, db, d, tbl.Name(), a); r.hits != 0 {
			t.Fatalf("hits before the flush = %d, want 0", r.hits)
		}
		if err := log.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		ra, _ := readRow(t, db, d, tbl.Name(), a)
		rb, _ := readRow(t, db, d, tbl.Name(), b)
		if ra.hits != 5 || rb.hits != 1 {
			t.Errorf("hits = %d, %d; want 5, 1", ra.hits, rb.hits)
		}
		if !ra.accessed.Equal(clk.now) {
			t.Errorf("accessed_at = %v, want %v", ra.accessed, clk.now)
		}
		// A flush changes neither the value nor updated_at.
		if ra.updated != before.updated || ra.value != before.value {
			t.Errorf("after the flush: updated_at %v, value %q; before: %v, %q", ra.updated, ra.value, before.updated, before.value)
		}
		// accessed_at never goes back: a later flush of an earlier read
		// leaves it.
		clk.now = clk.now.Add(-time.Hour)
		if _, _, err := tbl.Get(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := log.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if r, _ := readRow(t, db, d, tbl.Name(), a); r.hits != 6 || !r.accessed.Equal(ra.accessed) {
			t.Errorf("after an earlier read: hits %d, accessed_at %v; want 6, %v", r.hits, r.accessed, ra.accessed)
		}
	})
}

func TestAccessLogDoesNotCreateDeletedKeys(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		log := newAccessLog(t, nil)
		tbl := open[int](t, db, d, &sqltable.Options{AccessLog: log})
		k := keymap.NewKey("k")
		if err := tbl.Put(ctx, k, 1); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tbl.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := tbl.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := log.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if _, found := readRow(t, db, d, tbl.Name(), k); found {
			t.Fatal("the flush made a row for a deleted key")
		}
		if n, err := tbl.Len(ctx); err != nil || n != 0 {
			t.Fatalf("Len = %d, %v; want 0", n, err)
		}
	})
}

// TestAccessLogRecordsNoChange checks that a flush records nothing in the
// change feed.
func TestAccessLogRecordsNoChange(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		migrate(t, db, d)
		log := newAccessLog(t, nil)
		tbl := open[int](t, db, d, &sqltable.Options{AccessLog: log, RequireFeed: true})
		k := keymap.NewKey("k")
		if err := tbl.Put(ctx, k, 1); err != nil {
			t.Fatal(err)
		}
		changes := countChanges(t, db, d)
		if _, _, err := tbl.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := log.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if r, _ := readRow(t, db, d, tbl.Name(), k); r.hits != 1 {
			t.Fatalf("hits = %d, want 1", r.hits)
		}
		if n := countChanges(t, db, d); n != changes {
			t.Errorf("the flush recorded %d changes", n-changes)
		}
	})
}

func TestAccessLogDropsWhenFull(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "x.db")
	db := sqltest.SQLiteAt(t, path)
	log := newAccessLog(t, &sqltable.AccessLogOptions{FlushInterval: -1, MaxPending: 4})
	tbl := open[int](t, db, dialect.SQLite, &sqltable.Options{AccessLog: log})
	keys := make([]keymap.Key, 10)
	for i := range keys {
		keys[i] = keymap.NewKey(fmt.Sprint(i))
		if err := tbl.Put(ctx, keys[i], i); err != nil {
			t.Fatal(err)
		}
	}
	// Another process holds the write lock while the reads go on, so that
	// the flush the log starts when 2 keys wait cannot finish and make
	// room: with 4 keys waiting, the reads of other keys are dropped, not
	// waited on.
	unlock := sqltest.LockSQLite(t, path)
	for i := range keys {
		for range 2 {
			if _, _, err := tbl.Get(ctx, keys[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := log.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	var total int64
	for _, k := range keys {
		r, _ := readRow(t, db, dialect.SQLite, tbl.Name(), k)
		total += r.hits
	}
	if got := total + log.Dropped(); got != 20 {
		t.Errorf("hits %d + dropped %d = %d, want the 20 reads", total, log.Dropped(), got)
	}
	if log.Dropped() == 0 {
		t.Error("no read was dropped with 10 keys and MaxPending 4")
	}
}

func TestAccessLogCloseFlushes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		log, err := sqltable.NewAccessLog(&sqltable.AccessLogOptions{FlushInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		tbl := open[int](t, db, d, &sqltable.Options{AccessLog: log})
		other := open[int](t, db, d, &sqltable.Options{AccessLog: log})
		k := keymap.NewKey("k")
		for _, x := range []*sqltable.Table[int]{tbl, other} {
			if err := x.Put(ctx, k, 1); err != nil {
				t.Fatal(err)
			}
			if _, _, err := x.Get(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		// Closing a Table flushes its reads; closing the log, the rest.
		if err := tbl.Close(); err != nil {
			t.Fatal(err)
		}
		if r, _ := readRow(t, db, d, tbl.Name(), k); r.hits != 1 {
			t.Errorf("hits after Table.Close = %d, want 1", r.hits)
		}
		if err := log.Close(); err != nil {
			t.Fatal(err)
		}
		if r, _ := readRow(t, db, d, other.Name(), k); r.hits != 1 {
			t.Errorf("hits after AccessLog.Close = %d, want 1", r.hits)
		}
		if err := log.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestAccessLogFlushesOnInterval(t *testing.T) {
	ctx := t.Context()
	db := sqltest.SQLite(t)
	log := newAccessLog(t, &sqltable.AccessLogOptions{FlushInterval: 10 * time.Millisecond})
	tbl := open[int](t, db, dialect.SQLite, &sqltable.Options{AccessLog: log})
	k := keymap.NewKey("k")
	if err := tbl.Put(ctx, k, 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tbl.Get(ctx, k); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r, _ := readRow(t, db, dialect.SQLite, tbl.Name(), k); r.hits == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the read was not flushed within 10 s with FlushInterval 10ms")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAccessLogOptions(t *testing.T) {
	for _, o := range []sqltable.AccessLogOptions{{MaxPending: -1}, {FlushTimeout: -1}} {
		if _, err := sqltable.NewAccessLog(&o); !errors.Is(err, sqltable.ErrInvalidOptions) {
			t.Errorf("NewAccessLog(%+v) = %v, want ErrInvalidOptions", o, err)
		}
	}
	db := sqltest.SQLite(t)
	log := newAccessLog(t, nil)
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = sqltable.Open[int](t.Context(), tx, "t", &sqltable.Options{Dialect: dialect.SQLite, AccessLog: log})
	if !errors.Is(err, sqltable.ErrInvalidOptions) {
		t.Errorf("Open over a *sql.Tx with an AccessLog = %v, want ErrInvalidOptions", err)
	}
}

// BenchmarkGetAccess compares Get with and without an AccessLog, side by
// side on one table.
func BenchmarkGetAccess(b *testing.B) {
	benchDB(b, func(b *testing.B, db *sql.DB, d *dialect.Dialect) {
		ctx := context.Background()
		keys := benchKeySet(benchKeys)
		plain, _ := benchTables(b, db, d, keys)
		log := newAccessLog(b, &sqltable.AccessLogOptions{})
		counted := open[int](b, db, d, &sqltable.Options{AccessLog: log})
		if err := counted.Drop(ctx); err != nil {
			b.Fatal(err)
		}
		counted, err := sqltable.Open[int](ctx, db, plain.Name(), &sqltable.Options{Dialect: d, AccessLog: log})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = counted.Close() })
		for _, tc := range []struct {
			name string
			tbl  *sqltable.Table[int]
		}{{"off", plain}, {"on", counted}} {
			b.Run(tc.name, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					v, found, err := tc.tbl.Get(ctx, keys[i%len(keys)])
					if err != nil || !found || v != i%len(keys) {
						b.Fatalf("Get = %d, %v, %v", v, found, err)
					}
					i++
				}
			})
		}
	})
}

// BenchmarkAccessFlush measures the flush of the reads of 500 keys: one
// UPDATE.
func BenchmarkAccessFlush(b *testing.B) {
	benchDB(b, func(b *testing.B, db *sql.DB, d *dialect.Dialect) {
		ctx := context.Background()
		keys := benchKeySet(500)
		plain, _ := benchTables(b, db, d, keys)
		log := newAccessLog(b, nil)
		tbl, err := sqltable.Open[int](ctx, db, plain.Name(), &sqltable.Options{Dialect: d, AccessLog: log})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = tbl.Close() })
		got, err := tbl.GetMany(ctx, keys)
		if err != nil || len(got) != len(keys) {
			b.Fatalf("GetMany = %d entries, %v", len(got), err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := log.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if _, err := tbl.GetMany(ctx, keys); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}

// TestAccessLogFlushesWhenHalfFull checks that a log without a timer
// flushes a table once MaxPending/2 of its keys wait.
func TestAccessLogFlushesWhenHalfFull(t *testing.T) {
	ctx := t.Context()
	db := sqltest.SQLite(t)
	log := newAccessLog(t, &sqltable.AccessLogOptions{FlushInterval: -1, MaxPending: 4})
	tbl := open[int](t, db, dialect.SQLite, &sqltable.Options{AccessLog: log})
	a, b := keymap.NewKey("a"), keymap.NewKey("b")
	for _, k := range []keymap.Key{a, b} {
		if err := tbl.Put(ctx, k, 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := tbl.Get(ctx, a); err != nil {
		t.Fatal(err)
	}
	if r, _ := readRow(t, db, dialect.SQLite, tbl.Name(), a); r.hits != 0 {
		t.Fatalf("hits with 1 key of 4 waiting = %d, want 0", r.hits)
	}
	if _, _, err := tbl.Get(ctx, b); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ra, _ := readRow(t, db, dialect.SQLite, tbl.Name(), a)
		rb, _ := readRow(t, db, dialect.SQLite, tbl.Name(), b)
		if ra.hits == 1 && rb.hits == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hits %d, %d 10 s after 2 keys of 4 waited, want 1, 1", ra.hits, rb.hits)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

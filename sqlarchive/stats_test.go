package sqlarchive_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// sumHits returns the sum of the hits column of table.
func sumHits(t *testing.T, db *sql.DB, d *dialect.Dialect, table string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(t.Context(), "SELECT COALESCE(SUM("+d.QuoteIdent("hits")+"), 0) FROM "+d.QuoteIdent(table)).Scan(&n); err != nil {
		t.Fatalf("sum hits: %v", err)
	}
	return n
}

// TestStatsAddUp checks that the catalog's hits, misses and loads are the
// memos' counts summed over two Archives, as two processes would hold, and
// that the rows' hits sum to the loads: each load is one read of a row.
func TestStatsAddUp(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		opts := &sqlarchive.Options{StatsInterval: time.Hour}
		a1, a2 := open(t, db, d, opts), open(t, db, d, opts)
		double := func(_ context.Context, x nArgs) (int, error) { return 2 * x.N, nil }
		m1, err := sqlarchive.Memoize(ctx, a1, "double", double, nil)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := sqlarchive.Memoize(ctx, a2, "double", double, nil)
		if err != nil {
			t.Fatal(err)
		}
		// a1: 5 misses, then 5 hits. a2: 5 loads from the table, 2 of
		// them twice after a Clear, then 3 hits.
		for range 2 {
			for i := range 5 {
				if _, err := m1.Call(ctx, nArgs{i}); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := range 5 {
			if _, err := m2.Call(ctx, nArgs{i}); err != nil {
				t.Fatal(err)
			}
		}
		m2.Clear(true)
		for i := range 5 {
			if _, err := m2.Call(ctx, nArgs{i % 2}); err != nil {
				t.Fatal(err)
			}
		}
		if info, err := a1.Info(ctx, "double"); err != nil || info.Hits != 0 || !info.StatsAt.IsZero() {
			t.Fatalf("Info before a flush = %+v, %v; want no counts", info, err)
		}
		if err := a1.FlushStats(ctx); err != nil {
			t.Fatalf("FlushStats: %v", err)
		}
		info, err := a1.Info(ctx, "double")
		if err != nil {
			t.Fatal(err)
		}
		if info.Hits != 5 || info.Misses != 5 || info.Loads != 0 || info.StatsAt.IsZero() {
			t.Errorf("after a1's flush: hits %d, misses %d, loads %d, stats at %v; want 5, 5, 0, set",
				info.Hits, info.Misses, info.Loads, info.StatsAt)
		}
		// Flushing again adds nothing.
		if err := a1.FlushStats(ctx); err != nil {
			t.Fatalf("FlushStats: %v", err)
		}
		// Close flushes a2's counts, and the reads of its table.
		if err := a2.Close(); err != nil {
			t.Fatal(err)
		}
		if info, err = a1.Info(ctx, "double"); err != nil {
			t.Fatal(err)
		}
		if info.Hits != 8 || info.Misses != 5 || info.Loads != 7 {
			t.Errorf("after a2's Close: hits %d, misses %d, loads %d; want 8, 5, 7", info.Hits, info.Misses, info.Loads)
		}
		if got := sumHits(t, db, d, info.Table); got != int64(info.Loads) {
			t.Errorf("the rows' hits sum to %d, want the %d loads", got, info.Loads)
		}
		tables, err := a1.Tables(ctx)
		if err != nil || len(tables) != 1 || tables[0].Loads != info.Loads || !tables[0].StatsAt.Equal(info.StatsAt) {
			t.Errorf("Tables = %+v, %v; want the row of Info", tables, err)
		}
	})
}

// TestNoAccessStats checks that Options.NoAccessStats leaves the rows'
// hits alone, and keeps the catalog's counts.
func TestNoAccessStats(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := open(t, db, d, &sqlarchive.Options{NoAccessStats: true})
		tbl := table[int](t, a, "plain", nil)
		if err := tbl.Put(ctx, keymap.NewKey("k"), 1); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tbl.Get(ctx, keymap.NewKey("k")); err != nil {
			t.Fatal(err)
		}
		if err := a.FlushStats(ctx); err != nil {
			t.Fatal(err)
		}
		if got := sumHits(t, db, d, tbl.Name()); got != 0 {
			t.Errorf("hits = %d with NoAccessStats, want 0", got)
		}
		counted := open(t, db, d, nil)
		tbl2 := table[int](t, counted, "plain", nil)
		if _, _, err := tbl2.Get(ctx, keymap.NewKey("k")); err != nil {
			t.Fatal(err)
		}
		if err := counted.FlushStats(ctx); err != nil {
			t.Fatal(err)
		}
		if got := sumHits(t, db, d, tbl.Name()); got != 1 {
			t.Errorf("hits = %d by default, want 1", got)
		}
	})
}

func TestStatsOptions(t *testing.T) {
	db := sqltest.SQLite(t)
	_, err := sqlarchive.Open(t.Context(), db, &sqlarchive.Options{Dialect: dialect.SQLite, StatsInterval: -time.Second})
	if !errors.Is(err, sqlarchive.ErrInvalidOptions) {
		t.Errorf("Open with a negative StatsInterval = %v, want ErrInvalidOptions", err)
	}
}

// TestSkipMigrateWithoutStats: with SkipMigrate, a catalog without the
// columns of migration 6 or 7 is refused, saying what to run.
func TestSkipMigrateWithoutStats(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		mo := &migrations.Options{Dialect: d}
		if err := migrations.Up(ctx, db, mo); err != nil {
			t.Fatal(err)
		}
		// Version 6: no type columns; version 4: no statistics either.
		for _, tc := range []struct {
			version int
			want    string
		}{{6, "no result_type and args_type columns (migration 7)"}, {4, "no loads and stats_at columns (migration 6)"}} {
			if err := migrations.Down(ctx, db, 1, mo); err != nil {
				t.Fatal(err)
			}
			_, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: d, SkipMigrate: true})
			if !errors.Is(err, sqlarchive.ErrNoFeed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open with SkipMigrate at version %d = %v, want an error wrapping ErrNoFeed that says %q", tc.version, err, tc.want)
			}
		}
	})
}

// TestDropWithPendingReads checks that Drop, which closes the archive's
// tables, is not failed by the reads they hold for a table now gone.
func TestDropWithPendingReads(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := open(t, db, d, &sqlarchive.Options{StatsInterval: time.Hour})
		tbl := table[int](t, a, "gone", nil)
		if err := tbl.Put(ctx, keymap.NewKey("k"), 1); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tbl.Get(ctx, keymap.NewKey("k")); err != nil {
			t.Fatal(err)
		}
		// Another Archive drops it: this one's table still holds a read.
		if err := open(t, db, d, nil).Drop(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		if err := tbl.Close(); err != nil {
			t.Errorf("Close of a dropped table with a pending read: %v", err)
		}
		tbl = table[int](t, a, "gone2", nil)
		if err := tbl.Put(ctx, keymap.NewKey("k"), 1); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tbl.Get(ctx, keymap.NewKey("k")); err != nil {
			t.Fatal(err)
		}
		if err := a.Drop(ctx, "gone2"); err != nil {
			t.Errorf("Drop with a pending read: %v", err)
		}
	})
}

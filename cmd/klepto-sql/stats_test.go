package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// TestStatsCounts checks that stats and ls show the counts the memos of
// two Archives added to the catalog, with their age.
func TestStatsCounts(t *testing.T) {
	for i, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			ctx := t.Context()
			fresh := sqltest.Fresh(t, d)
			dsn := dsnOf(t, fresh, i%2 == 0)
			square := func(_ context.Context, n int) (int, error) { return n * n, nil }
			for range 2 {
				a, err := sqlarchive.Open(ctx, fresh.DB, &sqlarchive.Options{Dialect: d})
				if err != nil {
					t.Fatal(err)
				}
				m, err := sqlarchive.Memoize(ctx, a, "square", square, nil)
				if err != nil {
					t.Fatal(err)
				}
				// First Archive: 3 misses, 1 hit; second: 3 loads, 1 hit.
				for _, n := range []int{1, 2, 3, 3} {
					if _, err := m.Call(ctx, n); err != nil {
						t.Fatal(err)
					}
				}
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
			}
			stats := decode[struct {
				Name                 string
				Rows, Expired, Bytes int64
				Oldest, Newest       *time.Time
				Hits, Misses, Loads  int64
				StatsAt              *time.Time `json:"stats_at"`
				MaxEntries           int64      `json:"max_entries"`
				MaxBytes             int64      `json:"max_bytes"`
				Evict                string
			}](t, ok(t, "stats", "square", "-json", "-db", dsn))
			if stats.Hits != 2 || stats.Misses != 3 || stats.Loads != 3 || stats.StatsAt == nil || time.Since(*stats.StatsAt) > time.Hour {
				t.Errorf("stats -json = %+v; want hits 2, misses 3, loads 3, stats_at now", stats)
			}
			text := ok(t, "stats", "square", "-db", dsn)
			for _, want := range []string{"hits     2\n", "misses   3\n", "loads    3\n", "counted  as of "} {
				if !strings.Contains(text, want) {
					t.Errorf("stats does not hold %q:\n%s", want, text)
				}
			}
			list := decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", dsn))
			if len(list) != 1 || list[0].Hits != 2 || list[0].Misses != 3 || list[0].Loads != 3 || time.Time(list[0].StatsAt).IsZero() {
				t.Errorf("ls -json = %+v; want square with hits 2, misses 3, loads 3 and stats_at", list)
			}
			if text := ok(t, "ls", "-db", dsn); !strings.Contains(text, "COUNTED") || !strings.Contains(text, " ago") {
				t.Errorf("ls does not show the counts' age:\n%s", text)
			}
		})
	}
}

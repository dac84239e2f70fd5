package integration

import (
	"context"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// stepsDownTo returns how many migrations of dialect d Down reverts from
// the latest to version v.
func stepsDownTo(t *testing.T, d *dialect.Dialect, v uint) int {
	t.Helper()
	list, err := migrations.List(d)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range list {
		if m.Version > v {
			n++
		}
	}
	return n
}

// stop ends the memo server as its user would: its stdin closes, so it
// closes its Archive, which writes its statistics, and exits.
func (s *memoServer) stop() {
	s.tb.Helper()
	s.c.stdin.Close()
	<-s.done
	if err := s.c.cmd.Wait(); err != nil {
		s.tb.Fatalf("memo server %d: %v", s.pid, err)
	}
}

// TestStatsAddUp runs 3 processes that memoize one function into one
// archive, with a memory too small for the keys, so that their calls are
// hits, misses and loads; once they have closed their Archives, the
// catalog's hits, misses and loads are the sums of their memos' counts,
// and the hits of the table's rows sum to the loads: each load is one read
// of a row.
func TestStatsAddUp(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, d)
			cfg := serveConfigOf(db, "sq")
			cfg.MaxSize = 16
			servers := startServers(t, cfg, cfg, cfg)
			const keys = 48
			pending := make([]*pendingReply, len(servers))
			for i, s := range servers {
				// Each walks the keys twice, from its own start, calling
				// each key twice in a row: the second call is a hit.
				walk := make([]int, 0, 4*keys)
				for j := range 4 * keys {
					walk = append(walk, (j/2+16*i)%keys)
				}
				pending[i] = s.send(request{Op: "walk", Keys: walk})
			}
			var calls, hits, misses, loads uint64
			for i, p := range pending {
				r := p.wait()
				if r.Err != "" || r.Wrong != 0 {
					t.Fatalf("server %d: walk: %s, %d wrong values", i, r.Err, r.Wrong)
				}
				calls += 4 * keys
			}
			for _, s := range servers {
				info := s.info().Info
				hits, misses, loads = hits+info.Hits, misses+info.Misses, loads+info.Loads
				s.stop()
			}
			if hits+misses+loads != calls {
				t.Fatalf("the memos counted %d hits, %d misses and %d loads, for %d calls", hits, misses, loads, calls)
			}
			if misses == 0 || loads == 0 || hits == 0 {
				t.Fatalf("hits %d, misses %d, loads %d: want some of each", hits, misses, loads)
			}

			ctx := context.Background()
			a, err := sqlarchive.Open(ctx, db.DB, &sqlarchive.Options{Dialect: d})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			info, err := a.Info(ctx, "sq")
			if err != nil {
				t.Fatal(err)
			}
			if uint64(info.Hits) != hits || uint64(info.Misses) != misses || uint64(info.Loads) != loads {
				t.Errorf("catalog: hits %d, misses %d, loads %d; the memos counted %d, %d, %d",
					info.Hits, info.Misses, info.Loads, hits, misses, loads)
			}
			if age := time.Since(info.StatsAt); info.StatsAt.IsZero() || age < -time.Minute || age > time.Minute {
				t.Errorf("catalog: stats_at %v, want now", info.StatsAt)
			}
			var rowHits int64
			q := "SELECT COALESCE(SUM(" + d.QuoteIdent("hits") + "), 0) FROM " + d.QuoteIdent(info.Table)
			if err := db.DB.QueryRowContext(ctx, q).Scan(&rowHits); err != nil {
				t.Fatal(err)
			}
			if uint64(rowHits) != loads {
				t.Errorf("the rows' hits sum to %d, want the %d loads", rowHits, loads)
			}
		})
	}
}

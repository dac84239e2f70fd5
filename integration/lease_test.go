package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
)

// Four processes call the same 1,000 keys, in the same order and then each
// in an order of its own: with leases, the function (2 ms) runs at most
// 1,010 times in all, with no error and no wrong value. With -short, 250
// keys and at most 252 runs.
func TestDuplicateComputations(t *testing.T) {
	const procs = 4
	keys := 1000
	if testing.Short() {
		keys = 250
	}
	limit := int64(keys + keys/100)
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			t.Parallel() // counts, not times
			db := sqltest.Fresh(t, d)
			for _, order := range []string{"same", "shuffled"} {
				cfg := serveConfigOf(db, "dup_"+order)
				cfg.Work = 2 * time.Millisecond
				cfgs := make([]serveConfig, procs)
				for i := range cfgs {
					cfgs[i] = cfg
				}
				servers := startServers(t, cfgs...)
				start := time.Now()
				walks := walkKeys(servers, keys, order == "shuffled", 1)
				var runs int64
				var each []int64
				ranges := make(map[int][]string) // the runs of each key
				for i, w := range walks {
					r := w.wait()
					runs += r.Runs
					each = append(each, r.Runs)
					for _, c := range r.Ranges {
						ranges[c.N] = append(ranges[c.N], fmt.Sprintf("process %d from %s to %s", i,
							unixTime(c.Start).Format("15:04:05.000000"), unixTime(c.End).Format("15:04:05.000000")))
					}
					if r.Errors > 0 || r.Wrong > 0 {
						t.Errorf("%s order, process %d: %d errors (first: %s), %d wrong values", order, i, r.Errors, r.Err, r.Wrong)
					}
				}
				t.Logf("%s, %s order: %d processes × %d keys ran the function %d times (%v each) in %v",
					d.Name(), order, procs, keys, runs, each, time.Since(start).Round(time.Millisecond))
				if runs > limit {
					t.Errorf("%s order: the function ran %d times, want at most %d", order, runs, limit)
				}
				// The issue allows 1%, but here no key may run twice: the
				// function takes 2 ms, far from LeaseWait (30 s) and
				// LeaseTTL (5 s, renewed), the only reasons for a waiter to
				// compute. So a duplicate is a lease that failed, and this
				// check fails every time rather than when 1% is crossed.
				var twice []int
				for n := range keys {
					if len(ranges[n]) > 1 {
						twice = append(twice, n)
					}
				}
				if len(twice) > 0 {
					t.Errorf("%s order: %d keys ran more than once, with leases that should allow none", order, len(twice))
					for _, n := range twice[:min(len(twice), 5)] {
						t.Logf("key %d ran %d times: %s", n, len(ranges[n]), strings.Join(ranges[n], "; "))
					}
				}
			}
		})
	}
}

// The leader of keys is killed with kill -9 while computing them: the
// process waiting for them computes them within the lease's TTL plus a
// second, a key whose lease nobody waited for is free as soon, and no lease
// is left behind.
func TestLeaderKilled(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			leaderKilled(t, sqltest.Fresh(t, d), 0, 0)
		})
	}
}

// leaseTTL is the LeaseTTL of the tests of leaders killed.
const leaseTTL = time.Second

// leaderKilled runs the test of a killed leader, with the clocks of the
// leader and of the waiter offset by leaderClock and waiterClock.
func leaderKilled(t *testing.T, db sqltest.Database, leaderClock, waiterClock time.Duration) {
	t.Helper()
	cfg := serveConfigOf(db, "killed")
	cfg.LeaseTTL = leaseTTL
	leaderCfg, waiterCfg := cfg, cfg
	leaderCfg.Block, leaderCfg.ClockOffset = true, leaderClock
	waiterCfg.ClockOffset = waiterClock
	// The third process calls key 4 after the kill; it starts now, so
	// that its start is not counted.
	servers := startServers(t, leaderCfg, waiterCfg, cfg)
	leader, waiter, third := servers[0], servers[1], servers[2]

	// The leader computes keys 1 to 4, and blocks.
	keys := []int{1, 2, 3, 4}
	for _, n := range keys {
		leader.send(request{Op: "call", N: n})
	}
	for range keys {
		leader.event(10 * time.Second)
	}
	// The waiter asks for keys 1 to 3, and waits: the leader renews its
	// leases while it computes, past their TTL.
	calls := make([]*pendingReply, 3)
	for i := range calls {
		calls[i] = waiter.send(request{Op: "call", N: keys[i]})
	}
	time.Sleep(leaseTTL * 3 / 2)
	for i, c := range calls {
		if r, ok := c.poll(); ok {
			t.Fatalf("the waiter's call of %d returned while the leader computed it: %+v", keys[i], r)
		}
	}
	killed := leader.kill()
	bound := leaseTTL + time.Second
	for i, c := range calls {
		r := c.wait()
		after := unixTime(r.At).Sub(killed)
		t.Logf("the waiter computed %d %v after the leader was killed", keys[i], after.Round(time.Millisecond))
		if r.Err != "" || !r.Ran || r.Value != square(keys[i]) {
			t.Errorf("the waiter's call of %d = %+v, want it computed", keys[i], r)
		}
		if after > bound {
			t.Errorf("the waiter computed %d %v after the leader was killed, want within %v", keys[i], after, bound)
		}
	}
	// Key 4, whose lease nobody waited for, is free too.
	r := third.call(keys[3])
	after := unixTime(r.At).Sub(killed)
	t.Logf("a third process computed %d %v after the leader was killed", keys[3], after.Round(time.Millisecond))
	if !r.Ran || after > bound {
		t.Errorf("a third process's call of %d, %v after the kill = %+v, want it computed within %v", keys[3], after, r, bound)
	}
	// Keys 1 to 3 are served from the archive.
	for _, n := range keys[:3] {
		if r := third.call(n); r.Ran || r.Value != square(n) {
			t.Errorf("a third process's call of %d = %+v, want a load", n, r)
		}
	}
	// No lease holds any key: those of the leader were taken over, and
	// released (a released lease expires at once, and is swept later).
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := liveLeases(t, db)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d leases are left in %s: %s", n, migrations.LeasesTable, leaseRows(t, db))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// leaseRows describes the leases in the database, and its clock.
func leaseRows(t testing.TB, db sqltest.Database) string {
	t.Helper()
	c := db.Dialect.QuoteIdent
	rows, err := db.DB.QueryContext(t.Context(), "SELECT "+c("table_name")+", "+c("holder")+", "+
		c("expires_at")+", "+db.Dialect.Now()+" FROM "+c(migrations.LeasesTable))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var table, holder string
		var expires, now any
		if err := rows.Scan(&table, &holder, &expires, &now); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s held by %s until %v (the database's clock says %v)", table, holder, expires, now))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "; ")
}

// liveLeases returns the number of leases that have not expired.
func liveLeases(t testing.TB, db sqltest.Database) int64 {
	t.Helper()
	var n int64
	c := db.Dialect.QuoteIdent
	q := "SELECT COUNT(*) FROM " + c(migrations.LeasesTable) + " WHERE " + c("expires_at") + " > " + db.Dialect.Now()
	if err := db.DB.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// countRows returns the number of rows of table.
func countRows(t testing.TB, db sqltest.Database, table string) int64 {
	t.Helper()
	var n int64
	q := "SELECT COUNT(*) FROM " + db.Dialect.QuoteIdent(table)
	if err := db.DB.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// Leases use the database's clock, never the process's: with one process an
// hour ahead of the other, they still elect one computer per key; and the
// lease of a leader an hour ahead, killed while computing, expires on time
// for a waiter an hour behind. (Were expiries the leader's clock, the lease
// would last an hour; were they the waiter's, it would wait an hour, and a
// waiter ahead would take over live leases: the election and the check
// that the waiter does not compute while the leader lives catch that.)
func TestLeaseClocks(t *testing.T) {
	const skew = time.Hour
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, d)
			t.Run("election", func(t *testing.T) {
				const keys = 100
				cfg := serveConfigOf(db, "clocks")
				cfg.Work = 5 * time.Millisecond
				aheadCfg := cfg
				aheadCfg.ClockOffset = skew
				servers := startServers(t, cfg, aheadCfg)
				normal, ahead := servers[0], servers[1]
				ks := make([]int, keys)
				for i := range ks {
					ks[i] = i
				}
				a, b := normal.send(request{Op: "walk", Keys: ks}), ahead.send(request{Op: "walk", Keys: ks})
				ra, rb := a.wait(), b.wait()
				t.Logf("of %d keys, the process on time computed %d and the one an hour ahead %d", keys, ra.Runs, rb.Runs)
				if ra.Errors+rb.Errors+ra.Wrong+rb.Wrong > 0 {
					t.Errorf("errors: %s %s; wrong values: %d, %d", ra.Err, rb.Err, ra.Wrong, rb.Wrong)
				}
				// Leases on the processes' clocks would have the one
				// ahead take over every lease of the other: nearly twice
				// the runs. The bound leaves room for the duplicates of
				// TestDuplicateComputations, which have another cause.
				if runs := ra.Runs + rb.Runs; runs > keys+keys/10 {
					t.Errorf("the function ran %d times for %d keys", runs, keys)
				}
			})
			t.Run("leader killed", func(t *testing.T) { leaderKilled(t, db, skew, -skew) })
		})
	}
}

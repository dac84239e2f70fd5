package integration

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/internal/sqltest"
)

// replicaConfig returns the configuration of a memo server that writes to
// the primary of r and reads from its hot standby (Options.ReadDB).
func replicaConfig(r sqltest.Replica, archive string) serveConfig {
	cfg := serveConfigOf(r.Primary, archive)
	cfg.ReadDSN = r.Replica.DSN
	return cfg
}

// While the standby replays nothing, four processes that read from it
// memoize the same keys, in orders of their own: each key is computed
// once, as on one server, since a miss on the replica is read again on the
// primary, or waits on the lease, before the function runs. A fifth process
// started then computes nothing: the standby has none of the results, the
// primary has them all. Once replay resumes, a sixth one computes nothing
// either.
func TestReplicaLagComputesOnce(t *testing.T) {
	const procs = 4
	keys := 400
	if testing.Short() {
		keys = 100
	}
	r := sqltest.PostgresReplica(t)
	cfg := replicaConfig(r, "lag")
	cfg.Work = 2 * time.Millisecond
	cfgs := make([]serveConfig, procs)
	for i := range cfgs {
		cfgs[i] = cfg
	}
	servers := startServers(t, cfgs...)
	r.WaitReplay(t) // the standby has the archive's table, empty

	resume := r.PauseReplay(t)
	walks := make([]*pendingReply, procs)
	for i, s := range servers {
		ks := make([]int, keys)
		for k := range ks {
			ks[k] = k
		}
		rnd := rand.New(rand.NewPCG(uint64(i), 2))
		rnd.Shuffle(len(ks), func(a, b int) { ks[a], ks[b] = ks[b], ks[a] })
		walks[i] = s.send(request{Op: "walk", Keys: ks})
	}
	ranges := make(map[int]int) // the runs of each key
	var runs int64
	for i, w := range walks {
		rep := w.wait()
		runs += rep.Runs
		for _, c := range rep.Ranges {
			ranges[c.N]++
		}
		if rep.Errors > 0 || rep.Wrong > 0 {
			t.Errorf("process %d: %d errors (first: %s), %d wrong values", i, rep.Errors, rep.Err, rep.Wrong)
		}
	}
	for n := range keys {
		if ranges[n] != 1 {
			t.Errorf("key %d ran %d times with replay paused; want once", n, ranges[n])
		}
	}
	t.Logf("%d processes × %d keys, replay paused: the function ran %d times", procs, keys, runs)

	late := startServer(t, cfg)
	ks := make([]int, keys)
	for k := range ks {
		ks[k] = k
	}
	if rep := late.must(request{Op: "walk", Keys: ks}); rep.Runs != 0 || rep.Errors > 0 || rep.Wrong > 0 {
		t.Errorf("a process started with replay paused ran the function %d times, %d errors (%s), %d wrong; want the primary's results",
			rep.Runs, rep.Errors, rep.Err, rep.Wrong)
	}

	resume()
	r.WaitReplay(t)
	after := startServer(t, cfg)
	if rep := after.must(request{Op: "walk", Keys: ks}); rep.Runs != 0 || rep.Errors > 0 || rep.Wrong > 0 {
		t.Errorf("a process started after replay resumed ran the function %d times, %d errors (%s), %d wrong; want the replicated results",
			rep.Runs, rep.Errors, rep.Err, rep.Wrong)
	}
}

// replicaHold is how long a change committed on the primary must stay out
// of the memory of a process whose follower reads a paused standby: ten
// times its poll interval.
const replicaHold = time.Second

// Process B, which reads from the standby, holds keys in memory; process A
// overwrites one, deletes another and forgets a third while the standby's
// replay is paused. B's follower reads the change feed from the standby, so
// B keeps its memory until replay resumes: then every change reaches it, none
// skipped, and B serves A's new state.
func TestReplicaFeed(t *testing.T) {
	r := sqltest.PostgresReplica(t)
	servers := startServers(t, replicaConfig(r, "sq"), replicaConfig(r, "sq"))
	a, b := servers[0], servers[1]
	const put, del, forget = 7, 8, 9
	for _, n := range []int{put, del, forget} {
		a.call(n)
		if rep := b.call(n); rep.Value != square(n) {
			t.Fatalf("B: call %d = %d; want %d", n, rep.Value, square(n))
		}
	}
	r.WaitReplay(t)

	resume := r.PauseReplay(t)
	awaits := make(map[int]*pendingReply)
	for _, n := range []int{put, del, forget} {
		awaits[n] = b.send(request{Op: "await", N: n, Timeout: 2 * time.Minute})
		awaits[n].waitArmed()
	}
	a.must(request{Op: "put", N: put, Value: -1})
	a.must(request{Op: "del", N: del})
	a.must(request{Op: "forget", N: forget})
	// Nothing to wait for: the test checks that nothing happens while B's
	// follower polls the standby several times.
	polls := b.info().Follow.Polls
	time.Sleep(replicaHold)
	if p := b.info().Follow.Polls; p < polls+3 {
		t.Fatalf("B's follower polled %d times in %v; want at least 3", p-polls, replicaHold)
	}
	for n, w := range awaits {
		if rep, done := w.poll(); done {
			t.Errorf("B dropped %d from memory while replay was paused (%s): its follower reads the primary", n, rep.Err)
		}
	}

	resume()
	for n, w := range awaits {
		if rep := w.wait(); rep.Err != "" {
			t.Fatalf("B: %d after replay resumed: %s", n, rep.Err)
		}
	}
	if rep := b.call(put); rep.Value != -1 || rep.Ran {
		t.Errorf("B: call %d = %d (ran: %v); want A's -1, read", put, rep.Value, rep.Ran)
	}
	for _, n := range []int{del, forget} {
		if rep := b.call(n); rep.Value != square(n) || !rep.Ran {
			t.Errorf("B: call %d = %d (ran: %v); want %d, computed again", n, rep.Value, rep.Ran, square(n))
		}
	}
	if f := b.info().Follow; f.Resets != 0 || f.Errors != 0 {
		t.Errorf("B's follower: %d resets, %d errors; want none", f.Resets, f.Errors)
	}
}

package integration

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-migrate/migrate/v4/database"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// The tests of this file run on a MariaDB Galera cluster, one node per
// process or pool, named by KLEPTO_TEST_GALERA_DSNS
// (integration/topology/galera.sh starts one).

// galera returns a fresh database of the Galera cluster, one Database per
// node, with klepto's migrations applied through the first node.
func galera(t *testing.T) []sqltest.Database {
	t.Helper()
	nodes := sqltest.Galera(t)
	if err := migrations.Up(t.Context(), nodes[0].DB, nil); err != nil {
		t.Fatal(err)
	}
	return nodes
}

// Three processes, each on its own node, open a fresh database at once
// (each migrates it and creates the archive through its own node), and
// call the same keys, each in an order of its own: every key is computed
// once in all (the lease is a row,
// and Galera's certification elects one inserter), no call fails (the
// certification conflicts of concurrent writes of one key are retried) and
// no value is wrong. Then a value stored through one node leaves the memory
// of the processes on the other two, through the change feed.
func TestGaleraMemoize(t *testing.T) {
	nodes := sqltest.Galera(t)
	keys := 600
	if testing.Short() {
		keys = 200
	}
	cfgs := make([]serveConfig, len(nodes))
	for i, n := range nodes {
		cfgs[i] = serveConfigOf(n, "gsq")
		cfgs[i].Work = 2 * time.Millisecond
		cfgs[i].MaxSize = 10 * keys
	}
	servers := startServers(t, cfgs...)
	start := time.Now()
	walks := walkKeys(servers, keys, true, 7)
	runs, total := tallyRuns(t, walks, func(i int) string { return fmt.Sprintf("process on node %d", i+1) })
	t.Logf("%d processes on %d nodes × %d keys ran the function %d times in %v",
		len(servers), len(nodes), keys, total, time.Since(start).Round(time.Millisecond))
	var twice []int
	for n := range keys {
		if runs[n] != 1 {
			twice = append(twice, n)
		}
	}
	if len(twice) > 0 {
		t.Errorf("%d keys ran other than once, first %v", len(twice), twice[:min(len(twice), 10)])
	}

	// A change through node 3 reaches the memory of the processes on
	// nodes 1 and 2.
	const n = 5
	var awaits []*pendingReply
	for _, s := range servers[:2] {
		s.call(n)
		a := s.send(request{Op: "await", N: n, Timeout: 30 * time.Second})
		a.waitArmed()
		awaits = append(awaits, a)
	}
	put := servers[2].must(request{Op: "put", N: n, Value: -1})
	for i, a := range awaits {
		r := a.wait()
		if r.Err != "" {
			t.Fatalf("process on node %d: %s", i+1, r.Err)
		}
		t.Logf("node %d's process forgot %d %v after node 3's put", i+1, n, unixTime(r.At).Sub(unixTime(put.At)).Round(time.Millisecond))
		if got := servers[i].call(n); got.Value != -1 {
			t.Errorf("process on node %d: call %d = %d after node 3 stored -1", i+1, n, got.Value)
		}
	}
	for i, s := range servers {
		if f := s.info().Follow; f.Resets > 0 || f.Errors > 0 {
			t.Errorf("process on node %d: its follower reset %d times and failed %d polls, want none", i+1, f.Resets, f.Errors)
		}
	}
}

// Writers on the three nodes overwrite the same keys at the same time,
// each in an order of its own: no write fails (Galera's certification
// conflicts, reported as deadlocks at commit, are retried), and a watcher
// on each node sees a change of every key, though ids are assigned by each
// node in steps of auto_increment_increment and commit in another order
// than their ids, with no reset of the follower.
func TestGaleraFeed(t *testing.T) {
	nodes := galera(t)
	ctx := t.Context()
	keys := 600
	if testing.Short() {
		keys = 200
	}
	km, err := keymap.NewString(nil)
	if err != nil {
		t.Fatal(err)
	}
	ks := make([]keymap.Key, keys)
	for i := range ks {
		if ks[i], err = km.Key(i); err != nil {
			t.Fatal(err)
		}
	}
	archives := make([]*sqlarchive.Archive, len(nodes))
	tables := make([]*sqltable.Table[int], len(nodes))
	for i, n := range nodes {
		if archives[i], err = sqlarchive.Open(ctx, n.DB, &sqlarchive.Options{SkipMigrate: true}); err != nil {
			t.Fatal(err)
		}
		defer archives[i].Close()
		if tables[i], err = sqlarchive.Table[int](ctx, archives[i], "feed", nil); err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
		defer tables[i].Close()
	}
	// New keys record nothing: store them first.
	entries := make([]cache.Entry[int], keys)
	for i, k := range ks {
		entries[i] = cache.Entry[int]{Key: k, Value: 0}
	}
	if err := tables[0].PutMany(ctx, entries); err != nil {
		t.Fatal(err)
	}

	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	seen := make([]map[string]int, len(nodes))
	var mu sync.Mutex
	var watching sync.WaitGroup
	for i, a := range archives {
		seen[i] = make(map[string]int)
		watching.Go(func() {
			err := a.Watch(watchCtx, "feed", func(c sqlarchive.Change) error {
				mu.Lock()
				seen[i][c.Key]++
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Errorf("watch on node %d: %v", i+1, err)
			}
		})
	}
	// Let each Watch start its follower before the writes.
	time.Sleep(time.Second)

	var writing sync.WaitGroup
	failed := make([]int, len(nodes))
	var firstErr error
	start := time.Now()
	for i, table := range tables {
		writing.Go(func() {
			order := rand.New(rand.NewPCG(uint64(i), 11)).Perm(keys)
			for _, k := range order {
				if err := table.Put(ctx, ks[k], i+1); err != nil {
					mu.Lock()
					failed[i]++
					if firstErr == nil {
						firstErr = fmt.Errorf("node %d: put %d: %w", i+1, k, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	writing.Wait()
	t.Logf("3 writers × %d puts of the same keys in %v", keys, time.Since(start).Round(time.Millisecond))
	if firstErr != nil {
		t.Errorf("puts failed on nodes 1-3: %v; first: %v", failed, firstErr)
	}

	// waitSeen waits until every watcher has seen want changes in all.
	waitSeen := func(want int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			var short []int
			for i := range seen {
				n := 0
				for _, c := range seen[i] {
					n += c
				}
				if n < want {
					short = append(short, n)
				}
			}
			mu.Unlock()
			if len(short) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 30 s, watchers saw %v changes of %d", short, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitSeen(keys * len(nodes))

	// Then node 1 alone overwrites every key: its ids come in steps of
	// auto_increment_increment (3), and the ids between them, never used,
	// are missing ids that the followers track for a minute. They track
	// up to 1,000 × 3, so they do not reset.
	const alone = 1
	start = time.Now()
	for round := range alone {
		for i, k := range ks {
			if err := tables[0].Put(ctx, k, 10+round); err != nil {
				t.Fatalf("node 1 alone: put %d: %v", i, err)
			}
		}
	}
	t.Logf("node 1 alone: %d puts in %v", alone*keys, time.Since(start).Round(time.Millisecond))
	waitSeen(keys * (len(nodes) + alone))
	stop()
	watching.Wait()
	for i, a := range archives {
		f := a.FollowInfo()
		t.Logf("node %d: %d changes read in %d polls, cursor %d", i+1, f.Changes, f.Polls, f.Cursor)
		if f.Resets > 0 {
			t.Errorf("node %d: the follower reset %d times, dropping memory it need not have", i+1, f.Resets)
		}
		for k, c := range seen[i] {
			if c != len(nodes)+alone {
				t.Errorf("node %d: key %s changed %d times, want %d", i+1, k, c, len(nodes)+alone)
				break
			}
		}
	}
}

// Migrations run through the three nodes at once apply each migration
// once, with no error: GET_LOCK, their lock on MySQL, holds only on its
// node, so on Galera a run also holds a row of
// migrations.GaleraLockTable, which certification lets one node insert at
// a time. And migrations applied through one node are seen at once through
// the others: Up through nodes 2 and 3, right after Up through node 1
// returned, finds nothing to do, though Galera applies node 1's DDL on the
// others after it commits (migrations read with wsrep_sync_wait), and so
// does sqlarchive.Open with SkipMigrate.
func TestGaleraMigrate(t *testing.T) {
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	for round := range rounds {
		for _, first := range []bool{false, true} {
			nodes := sqltest.Galera(t)
			var wg sync.WaitGroup
			errs := make([]error, len(nodes))
			run := nodes
			if first {
				if errs[0] = migrations.Up(t.Context(), nodes[0].DB, nil); errs[0] != nil {
					t.Fatal(errs[0])
				}
				run = nodes[1:]
				// Open with SkipMigrate through the others at once
				// finds the migrations too.
				for i, n := range run {
					a, err := sqlarchive.Open(t.Context(), n.DB, &sqlarchive.Options{SkipMigrate: true})
					if err != nil {
						t.Errorf("round %d: Open with SkipMigrate through node %d after Up through node 1: %v", round, i+2, err)
						continue
					}
					a.Close()
				}
			}
			for _, n := range run {
				i := slices.IndexFunc(nodes, func(o sqltest.Database) bool { return o.DB == n.DB })
				wg.Go(func() { errs[i] = migrations.Up(t.Context(), n.DB, nil) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil && !errors.Is(err, migrations.ErrNoChange) {
					t.Errorf("round %d (node 1 first: %v): Up through node %d: %v", round, first, i+1, err)
				}
			}
			for i, n := range nodes {
				s, err := migrations.Status(t.Context(), n.DB, nil)
				if err != nil || !s.Agrees() || s.Version != s.Latest() {
					t.Errorf("round %d: node %d: status %+v, %v; want version %d, agreeing", round, i+1, s, err, s.Latest())
				}
			}
		}
	}
}

// galeraKillEnv, set to 1, runs TestGaleraNodeKilled.
const galeraKillEnv = "KLEPTO_TEST_GALERA_KILL"

// galeraNode runs topology/galera.sh with args (kill N, start-node N), the
// script that started the cluster of KLEPTO_TEST_GALERA_DSNS, under the
// same KLEPTO_TOPOLOGY_DIR.
func galeraNode(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join("topology", "galera.sh"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("topology/galera.sh %s: %v\n%s(the test needs the cluster that topology/galera.sh started)",
			strings.Join(args, " "), err, out)
	}
}

// A node is killed (SIGKILL) while a process on each node calls the same
// keys: the processes on the two survivors finish every call, with no
// error and no wrong value (the leases that the process on the dead node
// held expire), and still see each other's changes through the feed; the
// process on the dead node fails its calls at once, with an error that
// names the connection, rather than hanging or returning a wrong value.
// When the node rejoins, that process calls and stores again, and forgets
// a key that was changed on another node while its own was down: its
// follower catches up with the changes it missed.
//
// It runs only with KLEPTO_TEST_GALERA_KILL=1, on its own: every other test
// on the cluster, in this package or another run at the same time by go
// test ./..., waits for the dead node and fails. .ci/run runs it in a step
// of its own after go test ./....
func TestGaleraNodeKilled(t *testing.T) {
	if os.Getenv(galeraKillEnv) != "1" {
		t.Skipf("set %s=1 (and %s) to run the node-kill test, alone: it stops a node that other tests use", galeraKillEnv, sqltest.GaleraEnv)
	}
	nodes := galera(t)
	cfgs := make([]serveConfig, len(nodes))
	for i, n := range nodes {
		cfgs[i] = serveConfigOf(n, "gkill")
		cfgs[i].Work = 2 * time.Millisecond
		cfgs[i].LeaseTTL = time.Second
		cfgs[i].MaxSize = 10_000
	}
	servers := startServers(t, cfgs...)
	dead := len(nodes) - 1 // the last node dies
	deadNode := fmt.Sprint(dead + 1)
	// Every process has key 1 in memory.
	for _, s := range servers {
		if r := s.call(1); r.Value != square(1) {
			t.Fatalf("call 1 = %d", r.Value)
		}
	}

	keys := make([]int, 400)
	for i := range keys {
		keys[i] = 100 + i
	}
	var walks []*pendingReply
	for _, s := range servers {
		walks = append(walks, s.send(request{Op: "walk", Keys: keys}))
	}
	time.Sleep(200 * time.Millisecond)
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			galeraNode(t, "start-node", deadNode)
		}
	})
	galeraNode(t, "kill", deadNode)
	killed := time.Now()
	for i, w := range walks {
		r := w.wait()
		t.Logf("the process on node %d finished its walk %v after the kill: %d runs, %d errors (first: %s)", i+1,
			time.Since(killed).Round(time.Millisecond), r.Runs, r.Errors, r.Err)
		if i == dead {
			// Its calls fail from the kill on; the leases it held
			// expire (LeaseTTL, 1 s) for the others.
			if r.Wrong > 0 {
				t.Errorf("process on the dead node: %d wrong values", r.Wrong)
			}
			continue
		}
		if r.Errors > 0 || r.Wrong > 0 {
			t.Errorf("process on surviving node %d: %d errors (first: %s), %d wrong values", i+1, r.Errors, r.Err, r.Wrong)
		}
	}
	r := servers[dead].do(request{Op: "call", N: 2, Timeout: 30 * time.Second})
	t.Logf("the process on the dead node: call 2 returned after %v: %q", r.Elapsed.Round(time.Millisecond), r.Err)
	if r.Err == "" || r.IsDeadline {
		t.Errorf("the process on the dead node: call 2 = %+v, want an error before its deadline", r)
	}

	// The survivors still share changes: a put on node 2 reaches node 1,
	// and key 1 changes while node 3 is down.
	a := servers[0].send(request{Op: "await", N: 1, Timeout: 30 * time.Second})
	a.waitArmed()
	servers[1].must(request{Op: "put", N: 1, Value: -1})
	if r := a.wait(); r.Err != "" {
		t.Fatalf("process on node 1: %s", r.Err)
	}
	if r := servers[0].call(1); r.Value != -1 {
		t.Errorf("process on node 1: call 1 = %d after node 2 stored -1", r.Value)
	}

	galeraNode(t, "start-node", deadNode)
	restarted = true
	rejoined := time.Now()
	// The process on the rejoined node calls again, without a restart.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := servers[dead].do(request{Op: "call", N: 3, Timeout: 10 * time.Second})
		if r.Err == "" {
			if r.Value != square(3) {
				t.Fatalf("process on node %s: call 3 = %d", deadNode, r.Value)
			}
			t.Logf("the process on node %s called again %v after its node was Synced", deadNode, time.Since(rejoined).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process on node %s: calls still fail 30 s after the node rejoined: %s", deadNode, r.Err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Its follower read the change of key 1 made while its node was down.
	deadline = time.Now().Add(30 * time.Second)
	for {
		r := servers[dead].must(request{Op: "lookup", N: 1})
		if !r.Found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process on node %s still has key 1 = %d in memory, 30 s after its node rejoined", deadNode, r.Value)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := servers[dead].call(1); r.Value != -1 {
		t.Errorf("process on node %s: call 1 = %d, want -1, stored while its node was down", deadNode, r.Value)
	}
}

// The Galera migration lock of a run that died expires: a lock row left
// with its expiry passed is taken over by the next run, through another
// node, which removes it when done.
func TestGaleraMigrateLockExpires(t *testing.T) {
	nodes := galera(t)
	ctx := t.Context()
	lockID, err := database.GenerateAdvisoryLockId(nodes[0].Name + ":" + migrations.MigrationsTable)
	if err != nil {
		t.Fatal(err)
	}
	lock := dialect.MySQL.QuoteIdent(migrations.GaleraLockTable)
	if _, err := nodes[0].DB.ExecContext(ctx, "INSERT INTO "+lock+
		" (lock_id, holder, expires_at) VALUES (?, 'a run that died', NOW(6) - INTERVAL 1 SECOND)", lockID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := migrations.Down(ctx, nodes[1].DB, 1, nil); err != nil {
		t.Fatalf("Down through node 2 with an expired lock row: %v", err)
	}
	t.Logf("Down through node 2 took %v", time.Since(start).Round(time.Millisecond))
	var n int
	if err := nodes[1].DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+lock).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d lock rows left after the run (%v), want none", n, err)
	}
}

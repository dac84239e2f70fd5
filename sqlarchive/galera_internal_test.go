package sqlarchive

import (
	"fmt"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
)

// On a MariaDB Galera cluster, a node that writes alone leaves the ids of
// the other nodes' auto_increment_offset unused: 2 of every 3 ids on three
// nodes. The follower on another node reads every change without a reset
// however many changes that node makes within gapWait: here 600 overwrites, with the
// follower's cap on missing ids lowered to 50 × auto_increment_increment
// so that the test stays short (the default, 1,000 ×, took about 25
// changes a second for a minute to pass).
func TestGaleraFollowerOneWriter(t *testing.T) {
	nodes := sqltest.Galera(t)
	ctx := t.Context()
	writer := quiet(t, &nodes[0], 0)
	reader := quiet(t, &nodes[1], 0)
	rec := new(recorder)
	if err := reader.follower.subscribe(ctx, "fib", rec); err != nil {
		t.Fatal(err)
	}
	started(t, reader)
	reader.follower.mu.Lock()
	stride := reader.follower.maxGaps / maxGaps
	reader.follower.maxGaps = 50 * stride
	reader.follower.mu.Unlock()
	if stride < 2 {
		t.Fatalf("auto_increment_increment = %d on a node of %d; the test needs a cluster that sets it", stride, len(nodes))
	}
	fib, err := Table[int](ctx, writer, "fib", nil)
	if err != nil {
		t.Fatal(err)
	}
	// New keys record no change; overwrites of them do.
	const keys, changes = 100, 600
	for i := range keys {
		if err := fib.Put(ctx, keymap.NewKey(fmt.Sprintf("(n=%d)", i)), i); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for i := range changes {
		if err := fib.Put(ctx, keymap.NewKey(fmt.Sprintf("(n=%d)", i%keys)), -i); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			reader.follower.read(ctx)
		}
	}
	t.Logf("%d changes through node 1 in %v", changes, time.Since(start).Round(time.Millisecond))
	// Node 2 may lag: read until every change has come.
	deadline := time.Now().Add(30 * time.Second)
	for {
		reader.follower.read(ctx)
		if len(rec.got()) >= changes || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	info := reader.FollowInfo()
	t.Logf("FollowInfo = %+v", info)
	got := rec.got()
	if info.Resets != 0 || info.Errors != 0 {
		t.Errorf("FollowInfo = %+v, want no reset and no error", info)
	}
	if len(got) != changes {
		t.Errorf("the follower on node 2 was told of %d changes, want %d", len(got), changes)
	}
}

// catchUp makes a causal read on a Galera node (wsrep_causal_reads counts
// it), in a database migrated through another node and in one not
// migrated at all, where it does not fail.
func TestGaleraCatchUp(t *testing.T) {
	nodes := sqltest.Galera(t)
	ctx := t.Context()
	causalReads := func() int64 {
		t.Helper()
		var name string
		var n int64
		if err := nodes[1].DB.QueryRowContext(ctx, `SHOW GLOBAL STATUS LIKE 'wsrep_causal_reads'`).Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, migrated := range []bool{false, true} {
		if migrated {
			if err := migrations.Up(ctx, nodes[0].DB, nil); err != nil {
				t.Fatal(err)
			}
		}
		before := causalReads()
		if err := catchUp(ctx, nodes[1].DB, nodes[1].Dialect); err != nil {
			t.Fatalf("migrated %v: %v", migrated, err)
		}
		if after := causalReads(); after <= before {
			t.Errorf("migrated %v: wsrep_causal_reads went from %d to %d: catchUp made no causal read", migrated, before, after)
		}
	}
}

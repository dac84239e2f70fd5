package sqlarchive_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// twoPools returns two pools on one fresh database, standing for two
// processes, each with an Archive.
func twoPools(t *testing.T, d sqltest.Database, opts *sqlarchive.Options) (a, b *sqlarchive.Archive) {
	t.Helper()
	other, err := sql.Open(d.Driver, d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	a = open(t, d.DB, d.Dialect, opts)
	b = open(t, other, d.Dialect, opts)
	return a, b
}

type nArgs struct{ N int }

// eventually waits up to 1 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 1 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// What one process changes in an archive reaches the memory of another's
// memo: overwrites, deletes, clears, purges and drops, through the table and
// the Archive.
func TestFeedReachesMemory(t *testing.T) {
	for _, dl := range sqltest.Dialects() {
		t.Run(dl.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, dl)
			writer, reader := twoPools(t, db, &sqlarchive.Options{PollInterval: 10 * time.Millisecond})
			ctx := t.Context()
			var calls atomic.Int64
			m, err := sqlarchive.Memoize(ctx, reader, "sq", func(_ context.Context, a nArgs) (int, error) {
				calls.Add(1)
				return a.N * a.N, nil
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			call := func() int {
				v, err := m.Call(ctx, nArgs{3})
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			if call() != 9 {
				t.Fatal("first call")
			}
			tbl := table[int](t, writer, "sq", nil)
			key, _ := m.Key(nArgs{3})

			if err := tbl.Put(ctx, key, 99); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the overwrite did not reach memory", func() bool { return call() == 99 })

			if err := tbl.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the delete did not reach memory", func() bool { return call() == 9 })

			if err := tbl.Put(ctx, key, 98); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the second overwrite did not reach memory", func() bool { return call() == 98 })
			if err := tbl.Clear(ctx); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the clear did not reach memory", func() bool { return call() == 9 })

			if err := tbl.PutMany(ctx, []cache.Entry[int]{{Key: key, Value: 97}}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the batch did not reach memory", func() bool { return call() == 97 })
			if n, err := tbl.DeleteBefore(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
				t.Fatalf("DeleteBefore = %d, %v", n, err)
			}
			eventually(t, "the purge did not reach memory", func() bool { return call() == 9 })

			if err := writer.Drop(ctx, "sq"); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the drop did not reach memory", func() bool { return m.Info().Size == 0 })
			// The memo makes the archive again, and works on.
			if call() != 9 {
				t.Fatal("call after the drop")
			}
			if _, err := writer.Info(ctx, "sq"); err != nil {
				t.Fatalf("the archive was not made again: %v", err)
			}
			if info := reader.FollowInfo(); !info.Running || info.Changes < 7 || info.Resets != 0 {
				t.Errorf("FollowInfo = %+v", info)
			}
		})
	}
}

// Of two processes that miss one key at once, one computes it.
func TestLeaseOneComputation(t *testing.T) {
	for _, dl := range sqltest.Dialects() {
		t.Run(dl.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, dl)
			a, b := twoPools(t, db, nil)
			ctx := t.Context()
			var calls atomic.Int64
			slow := func(_ context.Context, x nArgs) (int, error) {
				calls.Add(1)
				time.Sleep(200 * time.Millisecond)
				return x.N + 1, nil
			}
			ma, err := sqlarchive.Memoize(ctx, a, "slow", slow, nil)
			if err != nil {
				t.Fatal(err)
			}
			mb, err := sqlarchive.Memoize(ctx, b, "slow", slow, nil)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for _, m := range []*cache.Memo[nArgs, int]{ma, mb, ma, mb} {
				wg.Go(func() {
					if v, err := m.Call(ctx, nArgs{1}); err != nil || v != 2 {
						t.Errorf("Call = %d, %v", v, err)
					}
				})
			}
			wg.Wait()
			if n := calls.Load(); n != 1 {
				t.Fatalf("the function ran %d times, want 1", n)
			}
			ia, ib := ma.Info(), mb.Info()
			if ia.Misses+ib.Misses != 1 || ia.Loads+ib.Loads != 1 {
				t.Fatalf("infos %+v and %+v: want one miss and one load", ia, ib)
			}
		})
	}
}

// A function error releases the lease at once: the other process computes
// without waiting for the lease to expire.
func TestLeaseReleasedOnError(t *testing.T) {
	db := sqltest.Fresh(t, sqltest.Dialects()[0])
	a, b := twoPools(t, db, nil)
	ctx := t.Context()
	boom := errors.New("boom")
	started := make(chan struct{})
	ma, err := sqlarchive.Memoize(ctx, a, "f", func(context.Context, nArgs) (int, error) {
		close(started)
		time.Sleep(100 * time.Millisecond)
		return 0, boom
	}, &sqlarchive.MemoizeOptions[int]{LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := sqlarchive.Memoize(ctx, b, "f", func(context.Context, nArgs) (int, error) { return 7, nil },
		&sqlarchive.MemoizeOptions[int]{LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := ma.Call(ctx, nArgs{1}); errc <- err }()
	<-started
	begin := time.Now()
	v, err := mb.Call(ctx, nArgs{1})
	if err != nil || v != 7 {
		t.Fatalf("Call = %d, %v", v, err)
	}
	if waited := time.Since(begin); waited > 5*time.Second {
		t.Fatalf("waited %v for a lease released by an error", waited)
	}
	if err := <-errc; !errors.Is(err, boom) {
		t.Fatalf("leader: %v", err)
	}
}

// The keys that Forget removes leave the memory of other processes.
func TestForgetReachesOthers(t *testing.T) {
	db := sqltest.Fresh(t, sqltest.Dialects()[0])
	a, b := twoPools(t, db, &sqlarchive.Options{PollInterval: 10 * time.Millisecond})
	ctx := t.Context()
	var calls atomic.Int64
	fn := func(_ context.Context, x nArgs) (int, error) { return int(calls.Add(1)), nil }
	ma, err := sqlarchive.Memoize(ctx, a, "f", fn, nil)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := sqlarchive.Memoize(ctx, b, "f", fn, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := ma.Call(ctx, nArgs{1})
	if v, _ := mb.Call(ctx, nArgs{1}); v != first {
		t.Fatalf("b computed %d, want a's %d", v, first)
	}
	if err := ma.Forget(ctx, nArgs{1}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b still holds the forgotten key", func() bool {
		_, ok, _ := mb.Lookup(nArgs{1})
		return !ok
	})
	if v, _ := mb.Call(ctx, nArgs{1}); v == first {
		t.Fatal("b served the forgotten value")
	}
}

// goroutines returns how many goroutines package sqlarchive started.
func goroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "created by github.com/klepto-sql/klepto/sqlarchive.")
}

// An Archive runs one follower, and one writer of statistics, for all its
// memos, and Close stops them.
func TestOneFollower(t *testing.T) {
	db := sqltest.Fresh(t, sqltest.Dialects()[0])
	ctx := t.Context()
	a, err := sqlarchive.Open(ctx, db.DB, &sqlarchive.Options{Dialect: db.Dialect})
	if err != nil {
		t.Fatal(err)
	}
	var memos []*cache.Memo[nArgs, int]
	for i := range 20 {
		m, err := sqlarchive.Memoize(ctx, a, fmt.Sprintf("f%d", i), func(_ context.Context, x nArgs) (int, error) { return x.N, nil }, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Call(ctx, nArgs{i}); err != nil {
			t.Fatal(err)
		}
		memos = append(memos, m)
	}
	// Once the leases of the calls are released, only the follower and
	// the writer of the statistics run.
	deadline := time.Now().Add(5 * time.Second)
	for goroutines() > 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := goroutines(); n != 2 {
		t.Errorf("20 memos run %d goroutines, want one follower and one writer of statistics", n)
	}
	if !a.FollowInfo().Running {
		t.Error("the follower does not run")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if a.FollowInfo().Running {
		t.Error("the follower runs after Close")
	}
	if n := goroutines(); n != 0 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines left after Close: %s", n, buf[:runtime.Stack(buf, true)])
	}
	runtime.KeepAlive(memos)
}

// A lease is renewed while its function runs: a computation longer than
// the lease keeps the others waiting, and the key is computed once; also
// while the process holds a lease that lasts longer ("beside"), which must
// not make the short one wait for the long one's renewal.
func TestLeaseRenewed(t *testing.T) {
	for _, dl := range sqltest.Dialects() {
		for _, beside := range []bool{false, true} {
			name := dl.Name()
			if beside {
				name += "/beside"
			}
			t.Run(name, func(t *testing.T) { testLeaseRenewed(t, dl, beside) })
		}
	}
}

func testLeaseRenewed(t *testing.T, dl *dialect.Dialect, beside bool) {
	db := sqltest.Fresh(t, dl)
	a, b := twoPools(t, db, nil)
	ctx := t.Context()
	var wg sync.WaitGroup
	if beside {
		long, err := sqlarchive.Memoize(ctx, a, "long", func(_ context.Context, x nArgs) (int, error) {
			time.Sleep(2 * time.Second)
			return x.N, nil
		}, &sqlarchive.MemoizeOptions[int]{LeaseTTL: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if _, err := long.Call(ctx, nArgs{1}); err != nil {
				t.Error(err)
			}
		})
		time.Sleep(100 * time.Millisecond) // the long lease is held
	}
	var calls atomic.Int64
	slow := func(_ context.Context, x nArgs) (int, error) {
		calls.Add(1)
		time.Sleep(time.Second) // over three lease times
		return x.N, nil
	}
	opts := &sqlarchive.MemoizeOptions[int]{LeaseTTL: 300 * time.Millisecond}
	ma, err := sqlarchive.Memoize(ctx, a, "slow", slow, opts)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := sqlarchive.Memoize(ctx, b, "slow", slow, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range []*cache.Memo[nArgs, int]{ma, mb} {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 100 * time.Millisecond) // a leads
			if _, err := m.Call(ctx, nArgs{1}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("the function ran %d times, want 1: the lease was not renewed", n)
	}
}

package cache_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// ttlArchive is a Dict whose entries expire ttl after they are written, as
// a SQL table with a TTL does.
type ttlArchive struct {
	*archive.Dict[int]
	clock *fakeClock
	ttl   time.Duration

	mu      sync.Mutex
	expires map[string]time.Time
}

func newTTLArchive(clock *fakeClock, ttl time.Duration) *ttlArchive {
	return &ttlArchive{Dict: archive.NewDict[int](), clock: clock, ttl: ttl, expires: map[string]time.Time{}}
}

func (a *ttlArchive) TTL() time.Duration { return a.ttl }

func (a *ttlArchive) Put(ctx context.Context, k keymap.Key, v int) error {
	a.mu.Lock()
	a.expires[k.Text] = a.clock.Now().Add(a.ttl)
	a.mu.Unlock()
	return a.Dict.Put(ctx, k, v)
}

func (a *ttlArchive) GetExpiry(ctx context.Context, k keymap.Key) (int, time.Time, bool, error) {
	a.mu.Lock()
	exp := a.expires[k.Text]
	a.mu.Unlock()
	if !a.clock.Now().Before(exp) {
		return 0, time.Time{}, false, nil
	}
	v, found, err := a.Dict.Get(ctx, k)
	return v, exp, found, err
}

func (a *ttlArchive) Get(ctx context.Context, k keymap.Key) (int, bool, error) {
	v, _, found, err := a.GetExpiry(ctx, k)
	return v, found, err
}

func (a *ttlArchive) All(ctx context.Context) iter.Seq2[cache.Entry[int], error] {
	return func(yield func(cache.Entry[int], error) bool) {
		for e, err := range a.Dict.All(ctx) {
			if err == nil {
				a.mu.Lock()
				e.ExpiresAt = a.expires[e.Key.Text]
				a.mu.Unlock()
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

var _ cache.Expirer[int] = (*ttlArchive)(nil)

// An entry never serves from memory after its archive entry expired, in
// every policy that keeps entries: a call after the TTL runs the function
// again, and Info counts only live entries.
func TestTTLInMemory(t *testing.T) {
	for _, p := range []cache.Policy{cache.PolicyLRU, cache.PolicyLFU, cache.PolicyMRU, cache.PolicyRR, cache.PolicyInf, cache.PolicyNo} {
		t.Run(p.String(), func(t *testing.T) {
			clock := newFakeClock()
			a := newTTLArchive(clock, time.Second)
			m, c := memoize(t, &cache.MemoOptions[int]{Policy: p, MaxSize: 10, Archive: a, Clock: clock.Now})
			callAll(t, m, 3)
			clock.Advance(500 * time.Millisecond)
			callAll(t, m, 3)
			wantSize := 1
			if p == cache.PolicyNo {
				wantSize = 0
			}
			if got := m.Info().Size; got != wantSize {
				t.Fatalf("Info().Size = %d before expiry, want %d", got, wantSize)
			}
			clock.Advance(time.Second) // 1.5 s after the first call
			if _, ok, _ := m.Lookup(3); ok {
				t.Fatal("Lookup finds an expired entry")
			}
			if got := m.Info().Size; got != 0 {
				t.Fatalf("Info().Size = %d after expiry, want 0", got)
			}
			callAll(t, m, 3)
			if got := c.calls.Load(); got != 2 {
				t.Fatalf("the function ran %d times, want 2 (once more after the TTL)", got)
			}
			info := m.Info()
			if info.Misses != 2 || info.Hits+info.Loads != 1 {
				t.Fatalf("Info() = %+v, want 2 misses and one hit or load", info)
			}
		})
	}
}

// An entry loaded from the archive carries the expiry of its row, not a
// fresh TTL.
func TestTTLOfLoadedEntries(t *testing.T) {
	clock := newFakeClock()
	a := newTTLArchive(clock, time.Second)
	writer, _ := memoize(t, &cache.MemoOptions[int]{Archive: a, Clock: clock.Now})
	callAll(t, writer, 4) // stored at t0, expires at t0+1s

	for _, load := range []string{"call", "load key", "load all"} {
		t.Run(load, func(t *testing.T) {
			c := newFakeClock()
			c.now = clock.Now().Add(800 * time.Millisecond)
			a.clock = c
			reader, calls := memoize(t, &cache.MemoOptions[int]{Archive: a, Clock: c.Now})
			k, _ := reader.Key(4)
			switch load {
			case "call":
				callAll(t, reader, 4)
			case "load key":
				if err := reader.Load(t.Context(), k); err != nil {
					t.Fatal(err)
				}
			case "load all":
				if err := reader.Load(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			if _, ok, _ := reader.Lookup(4); !ok {
				t.Fatal("not in memory after loading")
			}
			c.Advance(300 * time.Millisecond) // past the row's expiry
			if _, ok, _ := reader.Lookup(4); ok {
				t.Fatal("the loaded entry outlived its row in memory")
			}
			if calls.calls.Load() != 0 {
				t.Fatalf("the reader ran the function %d times", calls.calls.Load())
			}
		})
	}
}

// Invalidate drops keys from memory only: the next call is a load.
func TestInvalidate(t *testing.T) {
	a := archive.NewDict[int]()
	m, c := memoize(t, &cache.MemoOptions[int]{Archive: a})
	callAll(t, m, 1, 2)
	k1, _ := m.Key(1)
	m.Invalidate(k1)
	if got := inMemory(t, m); len(got) != 1 || got[0] != 2 {
		t.Fatalf("in memory %v after Invalidate(1), want [2]", got)
	}
	callAll(t, m, 1)
	checkInfo(t, m, 0, 2, 1, 2)
	if c.calls.Load() != 2 {
		t.Fatalf("the function ran %d times, want 2", c.calls.Load())
	}
}

// blockingGet is an archive whose Get waits until released, so that a test
// can invalidate while a call reads the archive.
type blockingGet struct {
	*archive.Dict[int]
	reading chan struct{}
	release chan struct{}
}

func (b *blockingGet) Get(ctx context.Context, k keymap.Key) (int, bool, error) {
	v, found, err := b.Dict.Get(ctx, k)
	b.reading <- struct{}{}
	<-b.release
	return v, found, err
}

// A value read from the archive before an invalidation is returned but
// not kept: it may be the stale value the invalidation was about.
func TestInvalidateDuringRead(t *testing.T) {
	a := &blockingGet{Dict: archive.NewDict[int](), reading: make(chan struct{}), release: make(chan struct{})}
	m, _ := memoize(t, &cache.MemoOptions[int]{Archive: a})
	k, _ := m.Key(5)
	if err := a.Dict.Put(t.Context(), k, 99); err != nil { // the stale value
		t.Fatal(err)
	}
	done := make(chan int)
	go func() {
		v, err := m.Call(context.Background(), 5)
		if err != nil {
			t.Error(err)
		}
		done <- v
	}()
	<-a.reading
	m.Invalidate(k) // another process changed key 5 meanwhile
	close(a.release)
	if v := <-done; v != 99 {
		t.Fatalf("Call = %d, want the value read, 99", v)
	}
	if _, ok, _ := m.Lookup(5); ok {
		t.Fatal("the value read before the invalidation stayed in memory")
	}
}

// Forget drops one key from memory and from the archive.
func TestForget(t *testing.T) {
	a := archive.NewDict[int]()
	m, c := memoize(t, &cache.MemoOptions[int]{Archive: a})
	callAll(t, m, 1, 2)
	if err := m.Forget(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if got := inMemory(t, m); len(got) != 1 || got[0] != 2 {
		t.Fatalf("in memory %v after Forget(1), want [2]", got)
	}
	if got := inArchive(t, m, a); len(got) != 1 || got[0] != 2 {
		t.Fatalf("in the archive %v after Forget(1), want [2]", got)
	}
	callAll(t, m, 1)
	if c.calls.Load() != 3 {
		t.Fatalf("the function ran %d times, want 3", c.calls.Load())
	}

	down := errors.New("down")
	f, _ := memoize(t, &cache.MemoOptions[int]{Archive: failing{down}})
	if err := f.Forget(t.Context(), 1); !errors.Is(err, down) {
		t.Fatalf("Forget over a failing archive: %v, want its error", err)
	}
}

// leasing is an archive that leases keys as a test tells it to.
type leasing struct {
	*archive.Dict[int]
	lease    func(k keymap.Key) (cache.Lease[int], error)
	leases   atomic.Int64
	released atomic.Int64
	// putsAtRelease records how many Puts had happened when Release ran.
	putsAtRelease atomic.Int64
	puts          atomic.Int64
}

func (l *leasing) Put(ctx context.Context, k keymap.Key, v int) error {
	l.puts.Add(1)
	return l.Dict.Put(ctx, k, v)
}

func (l *leasing) Lease(_ context.Context, k keymap.Key) (cache.Lease[int], error) {
	l.leases.Add(1)
	return l.lease(k)
}

func (l *leasing) held(cache.Lease[int]) cache.Lease[int] {
	return cache.Lease[int]{Release: func() {
		l.putsAtRelease.Store(l.puts.Load())
		l.released.Add(1)
	}}
}

func TestLease(t *testing.T) {
	t.Run("held", func(t *testing.T) {
		a := &leasing{Dict: archive.NewDict[int]()}
		a.lease = func(keymap.Key) (cache.Lease[int], error) { return a.held(cache.Lease[int]{}), nil }
		m, c := memoize(t, &cache.MemoOptions[int]{Archive: a})
		callAll(t, m, 3, 3)
		if a.leases.Load() != 1 || a.released.Load() != 1 || c.calls.Load() != 1 {
			t.Fatalf("%d leases, %d releases, %d calls; want 1 each", a.leases.Load(), a.released.Load(), c.calls.Load())
		}
		if a.putsAtRelease.Load() != 1 {
			t.Fatal("the lease was released before the result reached the archive")
		}
	})
	t.Run("found while waiting", func(t *testing.T) {
		a := &leasing{Dict: archive.NewDict[int]()}
		a.lease = func(k keymap.Key) (cache.Lease[int], error) {
			return cache.Lease[int]{Found: true, Entry: cache.Entry[int]{Key: k, Value: 42}}, nil
		}
		m, c := memoize(t, &cache.MemoOptions[int]{Archive: a})
		v, err := m.Call(t.Context(), 3)
		if err != nil || v != 42 {
			t.Fatalf("Call = %d, %v; want the other process's 42", v, err)
		}
		checkInfo(t, m, 0, 0, 1, 1)
		if c.calls.Load() != 0 {
			t.Fatal("the function ran although another process computed the value")
		}
	})
	t.Run("wait timed out", func(t *testing.T) {
		a := &leasing{Dict: archive.NewDict[int]()}
		a.lease = func(keymap.Key) (cache.Lease[int], error) { return cache.Lease[int]{}, nil }
		m, c := memoize(t, &cache.MemoOptions[int]{Archive: a})
		callAll(t, m, 3)
		if c.calls.Load() != 1 {
			t.Fatal("the function did not run after the wait")
		}
	})
	t.Run("function fails or panics", func(t *testing.T) {
		a := &leasing{Dict: archive.NewDict[int]()}
		a.lease = func(keymap.Key) (cache.Lease[int], error) { return a.held(cache.Lease[int]{}), nil }
		boom := errors.New("boom")
		m, err := cache.Memoize(func(_ context.Context, n int) (int, error) {
			if n == 1 {
				panic("bang")
			}
			return 0, boom
		}, &cache.MemoOptions[int]{Archive: a})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Call(t.Context(), 0); !errors.Is(err, boom) {
			t.Fatalf("Call: %v, want boom", err)
		}
		var pe *cache.PanicError
		if _, err := m.Call(t.Context(), 1); !errors.As(err, &pe) {
			t.Fatalf("Call: %v, want a *PanicError", err)
		}
		if a.released.Load() != 2 || a.puts.Load() != 0 {
			t.Fatalf("%d releases and %d puts, want 2 releases and nothing stored", a.released.Load(), a.puts.Load())
		}
	})
	t.Run("error", func(t *testing.T) {
		down := errors.New("no lease table")
		a := &leasing{Dict: archive.NewDict[int]()}
		a.lease = func(keymap.Key) (cache.Lease[int], error) { return cache.Lease[int]{}, down }
		m, c := memoize(t, &cache.MemoOptions[int]{Archive: a})
		if _, err := m.Call(t.Context(), 3); !errors.Is(err, down) {
			t.Fatalf("Call: %v, want the lease's error", err)
		}
		safe, _ := memoize(t, &cache.MemoOptions[int]{Archive: a, Safe: true})
		callAll(t, safe, 3)
		if got := safe.Info().Errors; got != 1 || c.calls.Load() != 0 {
			t.Fatalf("Safe: %d errors counted, want 1", got)
		}
	})
}

func ExampleMemo_Forget() {
	calls := 0
	square := func(_ context.Context, n int) (int, error) {
		calls++
		return n * n, nil
	}
	m, err := cache.Memoize(square, &cache.MemoOptions[int]{Archive: archive.NewDict[int]()})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	m.Call(ctx, 4)
	if err := m.Forget(ctx, 4); err != nil { // from memory and from the archive
		fmt.Println(err)
		return
	}
	m.Call(ctx, 4)
	fmt.Println("calls:", calls)
	// Output: calls: 2
}

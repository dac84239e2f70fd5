package cache_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// counter is a memoized function that counts its calls.
type counter struct{ calls atomic.Int64 }

func (c *counter) square(_ context.Context, n int) (int, error) {
	c.calls.Add(1)
	return n * n, nil
}

func memoize(t *testing.T, opts *cache.MemoOptions[int]) (*cache.Memo[int, int], *counter) {
	t.Helper()
	c := new(counter)
	m, err := cache.Memoize(c.square, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

func callAll(t *testing.T, m *cache.Memo[int, int], ns ...int) {
	t.Helper()
	for _, n := range ns {
		got, err := m.Call(t.Context(), n)
		if err != nil {
			t.Fatalf("Call(%d): %v", n, err)
		}
		if got != n*n {
			t.Fatalf("Call(%d) = %d, want %d", n, got, n*n)
		}
	}
}

// inMemory returns which of 0..9 the memo holds in memory.
func inMemory(t *testing.T, m *cache.Memo[int, int]) []int {
	t.Helper()
	var ns []int
	for n := range 10 {
		if _, ok, err := m.Lookup(n); err != nil {
			t.Fatal(err)
		} else if ok {
			ns = append(ns, n)
		}
	}
	return ns
}

// inArchive returns which of 0..9 the archive holds.
func inArchive(t *testing.T, m *cache.Memo[int, int], a cache.Archive[int]) []int {
	t.Helper()
	var ns []int
	for n := range 10 {
		k, err := m.Key(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, found, err := a.Get(t.Context(), k); err != nil {
			t.Fatal(err)
		} else if found {
			ns = append(ns, n)
		}
	}
	return ns
}

func checkInfo(t *testing.T, m *cache.Memo[int, int], hits, misses, loads uint64, size int) {
	t.Helper()
	info := m.Info()
	if info.Hits != hits || info.Misses != misses || info.Loads != loads || info.Size != size {
		t.Fatalf("Info() = %+v, want hits=%d misses=%d loads=%d size=%d", info, hits, misses, loads, size)
	}
}

// The worked examples of klepto's documentation (reference klepto.md §2),
// and where we differ on purpose (LFU evicts one entry, not max(2, n/10)).
func TestPolicies(t *testing.T) {
	tests := []struct {
		policy               cache.Policy
		calls                []int
		keep                 []int
		hits, misses         uint64
		maxSize, sizeInfoMax int
	}{
		{cache.PolicyLRU, []int{1, 2, 1, 3, 4}, []int{1, 3, 4}, 1, 4, 3, 3},
		{cache.PolicyLRU, []int{1, 2, 3, 1, 4, 5, 1, 6}, []int{1, 5, 6}, 2, 6, 3, 3},
		{cache.PolicyMRU, []int{1, 2, 1, 3, 4}, []int{1, 2, 4}, 1, 4, 3, 3},
		{cache.PolicyMRU, []int{1, 2, 3, 1, 4, 5, 1, 6}, []int{2, 3, 6}, 1, 7, 3, 3},
		{cache.PolicyLFU, []int{1, 2, 1, 3, 4}, []int{1, 3, 4}, 1, 4, 3, 3},
		{cache.PolicyLFU, []int{1, 1, 1, 2, 2, 3, 4, 5, 6}, []int{1, 2, 6}, 3, 6, 3, 3},
		{cache.PolicyInf, []int{1, 2, 1, 3, 4, 5, 6, 7}, []int{1, 2, 3, 4, 5, 6, 7}, 1, 7, 3, 0},
		{cache.PolicyNo, []int{1, 2, 1, 3}, nil, 0, 4, 3, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.policy, tc.calls), func(t *testing.T) {
			m, c := memoize(t, &cache.MemoOptions[int]{Policy: tc.policy, MaxSize: tc.maxSize})
			callAll(t, m, tc.calls...)
			if got := inMemory(t, m); !slices.Equal(got, tc.keep) {
				t.Errorf("in memory %v, want %v", got, tc.keep)
			}
			checkInfo(t, m, tc.hits, tc.misses, 0, len(tc.keep))
			if got := m.Info().MaxSize; got != tc.sizeInfoMax {
				t.Errorf("Info().MaxSize = %d, want %d", got, tc.sizeInfoMax)
			}
			if got := c.calls.Load(); uint64(got) != tc.misses {
				t.Errorf("function ran %d times, want %d", got, tc.misses)
			}
		})
	}
}

func TestRRBound(t *testing.T) {
	m, _ := memoize(t, &cache.MemoOptions[int]{Policy: cache.PolicyRR, MaxSize: 3})
	callAll(t, m, 1, 2, 3, 4, 5, 6)
	got := inMemory(t, m)
	if len(got) != 3 || !slices.Contains(got, 6) {
		t.Fatalf("in memory %v, want 3 keys including the last one, 6", got)
	}
	checkInfo(t, m, 0, 6, 0, 3)
}

// klepto's write-back example: maxsize 3, calls 1,2,3,4,1,5. Each evicted
// entry is written to the archive once; the returning 1 is a load.
func TestWriteBack(t *testing.T) {
	a := archive.NewDict[int]()
	m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 3, Archive: a, WriteBack: true})
	callAll(t, m, 1, 2, 3, 4, 1, 5)
	if got := inMemory(t, m); !slices.Equal(got, []int{1, 4, 5}) {
		t.Errorf("in memory %v, want [1 4 5]", got)
	}
	if got := inArchive(t, m, a); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("in archive %v, want [1 2 3]", got)
	}
	checkInfo(t, m, 0, 5, 1, 3)
}

// The same with an archive attached after the memo was made.
func TestSetArchive(t *testing.T) {
	m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 3, WriteBack: true})
	if m.Archived() || m.Archive() != nil {
		t.Fatal("a memo made without an archive reports one")
	}
	a := archive.NewDict[int]()
	m.SetArchive(a)
	if !m.Archived() {
		t.Fatal("Archived() = false after SetArchive")
	}
	callAll(t, m, 1, 2, 3, 4, 1, 5)
	if got := inArchive(t, m, a); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("in archive %v, want [1 2 3]", got)
	}
	checkInfo(t, m, 0, 5, 1, 3)
}

// klepto's purge example: when memory overflows, everything is dumped and
// memory emptied; the returning 1 is then a load.
func TestPurge(t *testing.T) {
	a := archive.NewDict[int]()
	m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 3, Archive: a, WriteBack: true, Purge: true})
	callAll(t, m, 1, 2, 3, 4)
	if got := inMemory(t, m); len(got) != 0 {
		t.Errorf("in memory after the overflow %v, want none", got)
	}
	callAll(t, m, 1, 5)
	if got := inMemory(t, m); !slices.Equal(got, []int{1, 5}) {
		t.Errorf("in memory %v, want [1 5]", got)
	}
	if got := inArchive(t, m, a); !slices.Equal(got, []int{1, 2, 3, 4}) {
		t.Errorf("in archive %v, want [1 2 3 4]", got)
	}
	checkInfo(t, m, 0, 5, 1, 2)
}

// Write-through (the default): every new result is in the archive when
// Call returns.
func TestWriteThrough(t *testing.T) {
	a := archive.NewDict[int]()
	m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 3, Archive: a})
	for _, n := range []int{1, 2, 3, 4, 5} {
		callAll(t, m, n)
		if got := inArchive(t, m, a); len(got) == 0 || got[len(got)-1] != n {
			t.Fatalf("after Call(%d) the archive holds %v", n, got)
		}
	}
	// A second memo, as in a new process, is served by the archive.
	m2, c2 := memoize(t, &cache.MemoOptions[int]{Archive: a})
	callAll(t, m2, 1, 2, 3, 4, 5, 1)
	checkInfo(t, m2, 1, 0, 5, 5)
	if c2.calls.Load() != 0 {
		t.Fatalf("the second memo ran the function %d times, want 0", c2.calls.Load())
	}
}

// klepto's no_cache over an archive: an archive-only memoizer.
func TestNoPolicyWithArchive(t *testing.T) {
	a := archive.NewDict[int]()
	m, _ := memoize(t, &cache.MemoOptions[int]{Policy: cache.PolicyNo, Archive: a, WriteBack: true})
	callAll(t, m, 1, 1, 2)
	checkInfo(t, m, 0, 2, 1, 0)
	if got := inArchive(t, m, a); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("in archive %v, want [1 2]", got)
	}
}

// klepto's inf_cache with a pre-filled archive: load, hit, miss; in
// write-back mode the new result reaches the archive only on Dump.
func TestInfWriteBackDump(t *testing.T) {
	ctx := t.Context()
	a := archive.NewDict[int]()
	m, c := memoize(t, &cache.MemoOptions[int]{Policy: cache.PolicyInf, Archive: a, WriteBack: true})
	k1, _ := m.Key(1)
	if err := a.Put(ctx, k1, 1); err != nil {
		t.Fatal(err)
	}
	callAll(t, m, 1, 1, 2)
	checkInfo(t, m, 1, 1, 1, 2)
	if c.calls.Load() != 1 {
		t.Fatalf("function ran %d times, want 1", c.calls.Load())
	}
	if got := inArchive(t, m, a); !slices.Equal(got, []int{1}) {
		t.Fatalf("in archive before Dump %v, want [1]", got)
	}
	k2, _ := m.Key(2)
	if err := m.Dump(ctx, k2); err != nil {
		t.Fatal(err)
	}
	if got := inArchive(t, m, a); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("in archive after Dump %v, want [1 2]", got)
	}
}

func TestLoadDumpSync(t *testing.T) {
	ctx := t.Context()
	a := archive.NewDict[int]()
	m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 3, Archive: a, WriteBack: true})
	for n := range 6 {
		k, _ := m.Key(n)
		if err := a.Put(ctx, k, n*n); err != nil {
			t.Fatal(err)
		}
	}
	// Load with no keys stops when memory is full (klepto reads it all).
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.Info(); got.Size != 3 || got.Loads != 0 {
		t.Fatalf("after Load: %+v, want 3 entries and no counted loads", got)
	}
	m.Clear(false)
	k4, _ := m.Key(4)
	k9, _ := m.Key(9)
	if err := m.Load(ctx, k4, k9); err != nil { // 9 is missing: skipped
		t.Fatal(err)
	}
	if got := inMemory(t, m); !slices.Equal(got, []int{4}) {
		t.Fatalf("in memory %v, want [4]", got)
	}
	callAll(t, m, 7)
	if got := inArchive(t, m, a); slices.Contains(got, 7) {
		t.Fatal("write-back result reached the archive before Dump")
	}
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := inArchive(t, m, a); !slices.Contains(got, 7) {
		t.Fatalf("in archive after Sync %v, want 7 among them", got)
	}
	if got := m.Info().Size; got != 3 {
		t.Fatalf("memory after Sync holds %d, want 3 (bounded)", got)
	}
}

func TestArchivedToggle(t *testing.T) {
	ctx := t.Context()
	m, _ := memoize(t, nil)
	if err := m.SetArchived(true); !errors.Is(err, cache.ErrNoArchive) {
		t.Fatalf("SetArchived(true) without an archive: %v, want ErrNoArchive", err)
	}
	if err := m.Dump(ctx); !errors.Is(err, cache.ErrNoArchive) {
		t.Fatalf("Dump without an archive: %v, want ErrNoArchive", err)
	}
	a := archive.NewDict[int]()
	m.SetArchive(a)
	if err := m.SetArchived(false); err != nil {
		t.Fatal(err)
	}
	callAll(t, m, 1)
	if m.Archived() || m.Archive() != a {
		t.Fatal("switched off, the archive must be kept aside, not dropped")
	}
	if got := inArchive(t, m, a); len(got) != 0 {
		t.Fatalf("archive switched off received %v", got)
	}
	if err := m.SetArchived(true); err != nil {
		t.Fatal(err)
	}
	callAll(t, m, 2)
	if got := inArchive(t, m, a); !slices.Equal(got, []int{2}) {
		t.Fatalf("in archive %v, want [2]", got)
	}
}

func TestClearKeyLookup(t *testing.T) {
	m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 3})
	callAll(t, m, 1, 1, 2)
	if _, err := m.Key(5); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := m.Lookup(5); ok {
		t.Fatal("Lookup found a result never computed")
	}
	if v, ok, _ := m.Lookup(2); !ok || v != 4 {
		t.Fatalf("Lookup(2) = %d, %v", v, ok)
	}
	checkInfo(t, m, 1, 2, 0, 2) // Key and Lookup change no count
	m.Clear(true)
	checkInfo(t, m, 1, 2, 0, 0)
	m.Clear(false)
	checkInfo(t, m, 0, 0, 0, 0)
}

func TestFunctionErrorNotCached(t *testing.T) {
	fail := errors.New("boom")
	calls := 0
	m, err := cache.Memoize(func(_ context.Context, n int) (int, error) {
		calls++
		if calls == 1 {
			return 0, fail
		}
		return n, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Call(t.Context(), 1); !errors.Is(err, fail) {
		t.Fatalf("first Call: %v, want %v", err, fail)
	}
	if v, err := m.Call(t.Context(), 1); err != nil || v != 1 {
		t.Fatalf("second Call = %d, %v; the error must not be cached", v, err)
	}
	if calls != 2 {
		t.Fatalf("function ran %d times, want 2", calls)
	}
}

func TestPanicRecovered(t *testing.T) {
	m, err := cache.Memoize(func(_ context.Context, n int) (int, error) {
		if n < 0 {
			panic(fmt.Errorf("negative %d", n))
		}
		return n, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Call(t.Context(), -1)
	var pe *cache.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Call: %v, want a *PanicError", err)
	}
	if !strings.Contains(string(pe.Stack), "TestPanicRecovered") {
		t.Errorf("the stack does not show the panicking function:\n%s", pe.Stack)
	}
	if pe.Unwrap() == nil || pe.Unwrap().Error() != "negative -1" {
		t.Errorf("Unwrap() = %v, want the panic's error", pe.Unwrap())
	}
	if got := m.Info(); got.Size != 0 || got.Misses != 0 {
		t.Fatalf("after a panic: %+v, want nothing cached or counted", got)
	}
}

// Concurrent misses on one key run the function once; the others wait.
func TestOneFlightPerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int64
		m, err := cache.Memoize(func(_ context.Context, n int) (int, error) {
			calls.Add(1)
			<-release
			return n * 2, nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		const callers = 20
		results := make(chan int, callers)
		for range callers {
			go func() {
				v, err := m.Call(t.Context(), 21)
				if err != nil {
					t.Error(err)
				}
				results <- v
			}()
		}
		synctest.Wait() // every caller is blocked: one in the function, the rest waiting for it
		if got := calls.Load(); got != 1 {
			t.Fatalf("function running %d times at once, want 1", got)
		}
		close(release)
		for range callers {
			if v := <-results; v != 42 {
				t.Fatalf("a caller got %d, want 42", v)
			}
		}
		if info := m.Info(); info.Misses != 1 || info.Hits != callers-1 {
			t.Fatalf("Info() = %+v, want 1 miss and %d hits", info, callers-1)
		}
	})
}

// A waiting caller whose context ends returns at once; a leader whose
// context ends does not pass its cancellation to the callers waiting on it.
func TestFlightContexts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		m, err := cache.Memoize(func(ctx context.Context, n int) (int, error) {
			if calls.Add(1) == 1 {
				<-ctx.Done() // the first leader blocks until canceled
				return 0, ctx.Err()
			}
			return n, nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		leaderCtx, cancelLeader := context.WithCancel(t.Context())
		leaderErr := make(chan error, 1)
		go func() { _, err := m.Call(leaderCtx, 7); leaderErr <- err }()
		synctest.Wait()

		waiterCtx, cancelWaiter := context.WithCancel(t.Context())
		waiterErr := make(chan error, 1)
		go func() { _, err := m.Call(waiterCtx, 7); waiterErr <- err }()
		patient := make(chan int, 1)
		go func() {
			v, err := m.Call(t.Context(), 7)
			if err != nil {
				t.Error(err)
			}
			patient <- v
		}()
		synctest.Wait()
		cancelWaiter()
		if err := <-waiterErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled waiter: %v, want context.Canceled", err)
		}
		cancelLeader()
		if err := <-leaderErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled leader: %v, want context.Canceled", err)
		}
		if v := <-patient; v != 7 {
			t.Fatalf("patient waiter got %d, want 7 (it must retry, not inherit the cancellation)", v)
		}
	})
}

// failing is an archive whose every operation fails.
type failing struct{ err error }

func (f failing) Get(context.Context, keymap.Key) (int, bool, error) { return 0, false, f.err }
func (f failing) Put(context.Context, keymap.Key, int) error         { return f.err }
func (f failing) Delete(context.Context, keymap.Key) error           { return f.err }

func TestArchiveErrors(t *testing.T) {
	down := errors.New("database is down")
	t.Run("returned", func(t *testing.T) {
		m, c := memoize(t, &cache.MemoOptions[int]{Archive: failing{down}})
		if _, err := m.Call(t.Context(), 3); !errors.Is(err, down) {
			t.Fatalf("Call: %v, want the archive's error", err)
		}
		if c.calls.Load() != 0 {
			t.Fatal("the function ran although the archive could not be asked")
		}
	})
	t.Run("safe", func(t *testing.T) {
		m, c := memoize(t, &cache.MemoOptions[int]{Archive: failing{down}, Safe: true})
		callAll(t, m, 3, 3)
		// Two errors: the failed lookup, and the failed write-through that
		// is still attempted after it.
		info := m.Info()
		if info.Errors != 2 || info.Misses != 1 || info.Hits != 1 || c.calls.Load() != 1 {
			t.Fatalf("Info() = %+v after %d runs, want 2 counted errors, 1 miss, 1 hit", info, c.calls.Load())
		}
	})
	t.Run("write-through fails", func(t *testing.T) {
		a := &putFails{Dict: archive.NewDict[int](), err: down}
		m, _ := memoize(t, &cache.MemoOptions[int]{Archive: a})
		v, err := m.Call(t.Context(), 3)
		if !errors.Is(err, down) || v != 9 {
			t.Fatalf("Call = %d, %v; want the result and the archive's error", v, err)
		}
	})
}

type putFails struct {
	*archive.Dict[int]
	err error
}

func (p *putFails) Put(context.Context, keymap.Key, int) error { return p.err }

func TestUnencodableArguments(t *testing.T) {
	calls := 0
	fn := func(_ context.Context, v any) (int, error) { calls++; return 1, nil }
	m, err := cache.Memoize(fn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Call(t.Context(), func() {}); err == nil {
		t.Fatal("Call with a func argument succeeded; want a key error")
	}
	safe, err := cache.Memoize(fn, &cache.MemoOptions[int]{Safe: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if v, err := safe.Call(t.Context(), make(chan int)); err != nil || v != 1 {
			t.Fatalf("safe Call = %d, %v; want a plain call", v, err)
		}
	}
	if info := safe.Info(); info.Errors != 2 || info.Misses != 2 || info.Size != 0 {
		t.Fatalf("safe Info() = %+v, want 2 errors, 2 misses, nothing stored", info)
	}
}

func TestMemoizeBadInput(t *testing.T) {
	fn := func(context.Context, int) (int, error) { return 0, nil }
	tests := []struct {
		name string
		fn   func(context.Context, int) (int, error)
		opts *cache.MemoOptions[int]
		want string
	}{
		{"nil function", nil, nil, "nil function"},
		{"negative maxsize", fn, &cache.MemoOptions[int]{MaxSize: -1}, "maxsize must not be negative, got -1"},
		{"unknown policy", fn, &cache.MemoOptions[int]{Policy: 42}, "unknown policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := cache.Memoize(tc.fn, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Memoize = %v, %v; want an error containing %q", m, err, tc.want)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	for p := cache.PolicyLRU; p <= cache.PolicyNo; p++ {
		got, err := cache.ParsePolicy(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := cache.ParsePolicy("fifo"); err == nil {
		t.Error("ParsePolicy(fifo) succeeded")
	}
}

// Many goroutines over few keys, every policy, write-back into an archive:
// the race detector watches, and every result must be right.
func TestMemoConcurrent(t *testing.T) {
	for p := cache.PolicyLRU; p <= cache.PolicyNo; p++ {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			a := archive.NewDict[int]()
			m, _ := memoize(t, &cache.MemoOptions[int]{Policy: p, MaxSize: 8, Archive: a, WriteBack: true})
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 300 {
						n := (g*31 + i*7) % 20
						if v, err := m.Call(t.Context(), n); err != nil || v != n*n {
							t.Errorf("Call(%d) = %d, %v", n, v, err)
							return
						}
					}
				})
			}
			wg.Wait()
			info := m.Info()
			if info.Hits+info.Misses+info.Loads != 8*300 {
				t.Fatalf("Info() = %+v: counts do not add up to %d calls", info, 8*300)
			}
			if max := info.MaxSize; max > 0 && info.Size > max {
				t.Fatalf("memory holds %d entries, bound %d", info.Size, max)
			}
			if err := m.Dump(t.Context()); err != nil {
				t.Fatal(err)
			}
			keys := inArchive(t, m, a)
			sort.Ints(keys)
			if p != cache.PolicyNo && len(keys) == 0 {
				t.Fatal("nothing reached the archive")
			}
		})
	}
}

// flaky is a Dict archive whose operations fail, or panic, when told to.
type flaky struct {
	*archive.Dict[int]
	getErr, putErr error
	getPanics      atomic.Int32 // panics left for Get
}

func (f *flaky) Get(ctx context.Context, k keymap.Key) (int, bool, error) {
	if f.getPanics.Add(-1) >= 0 {
		panic("archive bug")
	}
	if f.getErr != nil {
		return 0, false, f.getErr
	}
	return f.Dict.Get(ctx, k)
}

func (f *flaky) Put(ctx context.Context, k keymap.Key, v int) error {
	if f.putErr != nil {
		return f.putErr
	}
	return f.Dict.Put(ctx, k, v)
}

func (f *flaky) PutMany(ctx context.Context, es []cache.Entry[int]) error {
	if f.putErr != nil {
		return f.putErr
	}
	return f.Dict.PutMany(ctx, es)
}

// A panic outside the function (here in the archive) is recovered too, and
// does not leave the key's later callers waiting forever.
func TestArchivePanicReleasesKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &flaky{Dict: archive.NewDict[int]()}
		a.getPanics.Store(1)
		m, _ := memoize(t, &cache.MemoOptions[int]{Archive: a})
		var pe *cache.PanicError
		if _, err := m.Call(t.Context(), 7); !errors.As(err, &pe) {
			t.Fatalf("Call with a panicking archive: %v, want a *PanicError", err)
		}
		callAll(t, m, 7) // would block forever if the flight of 7 were never ended
	})
}

// In write-back mode an evicted entry exists only in memory: if writing it
// to the archive fails, it stays in memory and the new result is left out.
func TestWriteBackFailureKeepsEntry(t *testing.T) {
	down := errors.New("disk full")
	a := &flaky{Dict: archive.NewDict[int](), putErr: down}
	m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 2, Archive: a, WriteBack: true})
	callAll(t, m, 1, 2)
	v, err := m.Call(t.Context(), 3)
	if !errors.Is(err, down) || v != 9 {
		t.Fatalf("Call(3) = %d, %v; want the result and the archive's error", v, err)
	}
	if got := inMemory(t, m); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("in memory %v, want [1 2]: the unsaved entries kept", got)
	}
}

// A Safe memo whose archive cannot be read still writes evicted entries
// back to it.
func TestSafeWriteBackAfterFailedRead(t *testing.T) {
	a := &flaky{Dict: archive.NewDict[int](), getErr: errors.New("read timeout")}
	m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 2, Archive: a, WriteBack: true, Safe: true})
	callAll(t, m, 1, 2, 3)
	if got := inArchive(t, m, a.Dict); !slices.Equal(got, []int{1}) {
		t.Fatalf("in archive %v, want [1], the evicted entry", got)
	}
	if got := m.Info().Errors; got != 3 {
		t.Fatalf("Info().Errors = %d, want 3 failed reads", got)
	}
}

// With Purge in write-back mode, a failed dump leaves memory as it was.
func TestPurgeFailureKeepsMemory(t *testing.T) {
	down := errors.New("disk full")
	a := &flaky{Dict: archive.NewDict[int](), putErr: down}
	m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 2, Archive: a, WriteBack: true, Purge: true})
	callAll(t, m, 1, 2)
	if _, err := m.Call(t.Context(), 3); !errors.Is(err, down) {
		t.Fatalf("Call(3): %v, want the archive's error", err)
	}
	if got := inMemory(t, m); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("in memory %v, want [1 2]", got)
	}
}

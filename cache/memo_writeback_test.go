package cache_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// counting is a Dict that records the key of every write, one by one or in
// a batch.
type counting struct {
	*archive.Dict[int]
	mu     sync.Mutex
	writes []string
}

func newCounting() *counting { return &counting{Dict: archive.NewDict[int]()} }

func (c *counting) Put(ctx context.Context, k keymap.Key, v int) error {
	c.mu.Lock()
	c.writes = append(c.writes, k.Text)
	c.mu.Unlock()
	return c.Dict.Put(ctx, k, v)
}

func (c *counting) PutMany(ctx context.Context, es []cache.Entry[int]) error {
	for _, e := range es {
		if err := c.Put(ctx, e.Key, e.Value); err != nil {
			return err
		}
	}
	return nil
}

// take returns the keys written since the last take, as the numbers they
// are the keys of.
func (c *counting) take(t *testing.T, m *cache.Memo[int, int]) []int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var ns []int
	for _, text := range c.writes {
		n := -1
		for i := range 100 {
			if k, _ := m.Key(i); k.Text == text {
				n = i
			}
		}
		ns = append(ns, n)
	}
	c.writes = nil
	return ns
}

// In write-back mode an entry read from the archive is clean: evicting it
// writes nothing, and a new result is written once, when it leaves memory.
func TestWriteBackSkipsCleanEntries(t *testing.T) {
	ctx := t.Context()
	for _, purge := range []bool{false, true} {
		for _, p := range []cache.Policy{cache.PolicyLRU, cache.PolicyLFU, cache.PolicyMRU, cache.PolicyRR} {
			t.Run(p.String()+map[bool]string{false: "", true: "-purge"}[purge], func(t *testing.T) {
				a := newCounting()
				m, c := memoize(t, &cache.MemoOptions[int]{Policy: p, MaxSize: 3, Archive: a, WriteBack: true, Purge: purge})
				for n := range 10 {
					k, _ := m.Key(n)
					if err := a.Dict.Put(ctx, k, n*n); err != nil {
						t.Fatal(err)
					}
				}
				// Loads only: memory turns over many times, and nothing
				// it evicts is new.
				callAll(t, m, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3)
				if got := a.take(t, m); len(got) != 0 {
					t.Fatalf("loads then evictions wrote %v, want nothing", got)
				}
				if c.calls.Load() != 0 {
					t.Fatalf("function ran %d times, want 0", c.calls.Load())
				}
				// New results: each is written once, when memory lets it go.
				callAll(t, m, 20, 21, 22, 4, 5, 6, 7, 8)
				got := a.take(t, m)
				slices.Sort(got)
				want := []int{20, 21, 22}
				if p == cache.PolicyRR { // a random victim: some may stay
					want = slices.DeleteFunc(slices.Clone(want), func(n int) bool {
						_, in, _ := m.Lookup(n)
						return in
					})
				}
				if !slices.Equal(got, want) {
					t.Fatalf("new results then loads wrote %v, want %v once each", got, want)
				}
				// Loaded again, they are clean: none is written twice (RR
				// may now write one it had kept).
				callAll(t, m, 20, 21, 22, 4, 5, 6, 7, 8)
				for _, n := range a.take(t, m) {
					if slices.Contains(got, n) || p != cache.PolicyRR {
						t.Fatalf("result %d was written again after a reload", n)
					}
				}
			})
		}
	}
}

// Load and Sync read entries that the archive holds: evicting them later
// writes nothing.
func TestWriteBackLoadIsClean(t *testing.T) {
	ctx := t.Context()
	a := newCounting()
	m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 3, Archive: a, WriteBack: true})
	for n := range 6 {
		k, _ := m.Key(n)
		if err := a.Dict.Put(ctx, k, n*n); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	k4, _ := m.Key(4)
	if err := m.Load(ctx, k4); err != nil {
		t.Fatal(err)
	}
	callAll(t, m, 7, 8, 9)
	if got := a.take(t, m); len(got) != 0 {
		t.Fatalf("evicting loaded entries wrote %v, want nothing", got)
	}
	callAll(t, m, 0, 1, 2)
	got := a.take(t, m)
	slices.Sort(got)
	if !slices.Equal(got, []int{7, 8, 9}) {
		t.Fatalf("evicting new results wrote %v, want [7 8 9]", got)
	}
}

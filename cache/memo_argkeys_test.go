package cache_test

import (
	"context"
	"math"
	"sync/atomic"
	"testing"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

type point struct {
	ID   int
	Name string
	X    float64
}

// A call served from memory makes no key and allocates nothing when equal
// arguments have equal keys, whatever the bounded policy.
func TestMemoHitAllocatesNothing(t *testing.T) {
	ctx := t.Context()
	for _, p := range []cache.Policy{cache.PolicyLRU, cache.PolicyLFU, cache.PolicyMRU, cache.PolicyRR, cache.PolicyInf} {
		t.Run(p.String(), func(t *testing.T) {
			m, err := cache.Memoize(func(_ context.Context, a point) (int, error) { return a.ID, nil },
				&cache.MemoOptions[int]{Policy: p})
			if err != nil {
				t.Fatal(err)
			}
			arg := point{ID: 42, Name: "answer", X: 1.5}
			if _, err := m.Call(ctx, arg); err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(100, func() {
				if _, err := m.Call(ctx, arg); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Fatalf("a hit allocates %v times, want 0", n)
			}
			if got := m.Info(); got.Hits != 101 || got.Misses != 1 || got.Size != 1 {
				t.Fatalf("Info() = %+v, want 101 hits, 1 miss, 1 entry", got)
			}
		})
	}
}

// Keeping keys by argument value changes no key: the archive receives the
// keys the keymap makes, calls find each other's entries as before, and
// Invalidate and Forget by key still reach them.
func TestMemoKeysByValue(t *testing.T) {
	ctx := t.Context()
	km, err := keymap.NewString(&keymap.Options{Ignore: []string{"Name"}, Round: keymap.Simple, Tol: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := archive.NewDict[int]()
	var calls atomic.Int64
	m, err := cache.Memoize(func(_ context.Context, p point) (int, error) { calls.Add(1); return p.ID, nil },
		&cache.MemoOptions[int]{MaxSize: 4, Keymap: km, Archive: a})
	if err != nil {
		t.Fatal(err)
	}
	call := func(p point) {
		t.Helper()
		if got, err := m.Call(ctx, p); err != nil || got != p.ID {
			t.Fatalf("Call(%+v) = %d, %v", p, got, err)
		}
	}
	// Arguments unequal by == but with one key share one entry; so do 0
	// and -0, and NaN, which is never equal to itself.
	call(point{ID: 1, Name: "a", X: 2.04})
	call(point{ID: 1, Name: "b", X: 1.96})
	call(point{ID: 1, Name: "a", X: 2.04})
	call(point{ID: 2, X: 0})
	call(point{ID: 2, X: math.Copysign(0, -1)})
	call(point{ID: 3, X: math.NaN()})
	call(point{ID: 3, X: math.NaN()})
	if got := m.Info(); got.Hits != 4 || got.Misses != 3 || got.Size != 3 || calls.Load() != 3 {
		t.Fatalf("Info() = %+v after %d calls of the function, want 4 hits, 3 misses, 3 entries", got, calls.Load())
	}
	for _, p := range []point{{ID: 1, X: 2}, {ID: 2}, {ID: 3, X: math.NaN()}} {
		k, err := km.Key(p)
		if err != nil {
			t.Fatal(err)
		}
		if mk, _ := m.Key(p); mk != k {
			t.Fatalf("Memo.Key(%+v) = %q, the keymap's is %q", p, mk.Text, k.Text)
		}
		if v, found, err := a.Get(ctx, k); err != nil || !found || v != p.ID {
			t.Fatalf("archive Get(%q) = %d, %v, %v; want %d under the keymap's key", k.Text, v, found, err, p.ID)
		}
	}
	k1, _ := km.Key(point{ID: 1, X: 2})
	m.Invalidate(k1)
	if _, ok, _ := m.Lookup(point{ID: 1, Name: "a", X: 2.04}); ok {
		t.Fatal("Invalidate by key left the entry found by argument value")
	}
	if err := m.Forget(ctx, point{ID: 2}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := m.Lookup(point{ID: 2, X: math.Copysign(0, -1)}); ok {
		t.Fatal("Forget left the entry in memory")
	}
	// Many more arguments than memory holds, each a miss and then a hit:
	// keys kept by value are let go, and every call still finds its own
	// result.
	for i := range 1000 {
		p := point{ID: i % 37, X: float64(i % 37)}
		call(p)
		call(p)
	}
}

// A type whose key may depend on more than its value, such as one that
// holds a pointer, makes its key on every call, as before.
func TestMemoPointerArguments(t *testing.T) {
	ctx := t.Context()
	type byRef struct{ N *int }
	m, err := cache.Memoize(func(_ context.Context, a byRef) (int, error) { return *a.N, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 1
	arg := byRef{&n}
	for want := range 3 {
		n = want
		if got, err := m.Call(ctx, arg); err != nil || got != want {
			t.Fatalf("Call with *N = %d returned %d, %v", want, got, err)
		}
	}
}

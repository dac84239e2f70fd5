package cache_test

import (
	"context"
	"testing"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
)

type benchArgs struct {
	ID   int
	Name string
}

// A memoized call served from memory: a 2-field struct, the string keymap,
// LRU. Target: at most 1.5 times the same memo written by hand around
// golang-lru (see ../bench), and no allocation.
func BenchmarkMemoHit(b *testing.B) {
	m, err := cache.Memoize(func(_ context.Context, a benchArgs) (int, error) { return a.ID, nil }, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	arg := benchArgs{ID: 42, Name: "answer"}
	if _, err := m.Call(ctx, arg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Call(ctx, arg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoHitParallel(b *testing.B) {
	m, err := cache.Memoize(func(_ context.Context, a benchArgs) (int, error) { return a.ID, nil }, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range 64 {
		m.Call(ctx, benchArgs{ID: i, Name: "answer"})
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := m.Call(ctx, benchArgs{ID: i & 63, Name: "answer"}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// A memoized call that misses memory and loads from a Dict archive.
func BenchmarkMemoLoad(b *testing.B) {
	a := archive.NewDict[int]()
	m, err := cache.Memoize(func(_ context.Context, a benchArgs) (int, error) { return a.ID, nil },
		&cache.MemoOptions[int]{Policy: cache.PolicyNo, Archive: a})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	arg := benchArgs{ID: 42, Name: "answer"}
	m.Call(ctx, arg)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Call(ctx, arg); err != nil {
			b.Fatal(err)
		}
	}
}

// A memoized call that misses memory and runs the function: arguments
// cycle through 1,000 values, memory holds 100.
func BenchmarkMemoMiss(b *testing.B) {
	m, err := cache.Memoize(func(_ context.Context, a benchArgs) (int, error) { return a.ID, nil }, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := m.Call(ctx, benchArgs{ID: i % 1000, Name: "answer"}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkMemoHit with a no-op Observer: what an Observer costs a hit.
func BenchmarkMemoHitObserved(b *testing.B) {
	m, err := cache.Memoize(func(_ context.Context, a benchArgs) (int, error) { return a.ID, nil },
		&cache.MemoOptions[int]{Observer: cache.ObserverFunc(func(cache.Event) {})})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	arg := benchArgs{ID: 42, Name: "answer"}
	if _, err := m.Call(ctx, arg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Call(ctx, arg); err != nil {
			b.Fatal(err)
		}
	}
}

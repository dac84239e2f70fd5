package bench

import (
	"context"
	"sync"
	"testing"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/klepto-sql/klepto/cache"
)

// memoArgs is the argument of the memoized functions: a struct of
// comparable fields, as a hand-written memo would key its cache by.
type memoArgs struct {
	ID   int
	Name string
}

func memoFn(_ context.Context, a memoArgs) (int, error) { return a.ID, nil }

// memoizers are one memoized function each: klepto's Memo with its
// defaults (LRU of 100, the string keymap), and two written by hand, keyed
// by the argument value: golang-lru of 100, and a map under a mutex.
var memoizers = []struct {
	name string
	new  func(b *testing.B) func(context.Context, memoArgs) (int, error)
}{
	{"klepto", func(b *testing.B) func(context.Context, memoArgs) (int, error) {
		m, err := cache.Memoize(memoFn, nil)
		if err != nil {
			b.Fatal(err)
		}
		return m.Call
	}},
	{"golang-lru", func(b *testing.B) func(context.Context, memoArgs) (int, error) {
		c, err := lru.New[memoArgs, int](cache.DefaultMaxSize)
		if err != nil {
			b.Fatal(err)
		}
		return func(ctx context.Context, a memoArgs) (int, error) {
			if v, ok := c.Get(a); ok {
				return v, nil
			}
			v, err := memoFn(ctx, a)
			if err == nil {
				c.Add(a, v)
			}
			return v, err
		}
	}},
	{"map+mutex", func(b *testing.B) func(context.Context, memoArgs) (int, error) {
		var mu sync.Mutex
		m := map[memoArgs]int{}
		return func(ctx context.Context, a memoArgs) (int, error) {
			mu.Lock()
			v, ok := m[a]
			mu.Unlock()
			if ok {
				return v, nil
			}
			v, err := memoFn(ctx, a)
			if err == nil {
				mu.Lock()
				m[a] = v
				mu.Unlock()
			}
			return v, err
		}
	}},
}

// BenchmarkMemoHit is a memoized call served from memory, one argument.
func BenchmarkMemoHit(b *testing.B) {
	ctx := context.Background()
	arg := memoArgs{ID: 42, Name: "answer"}
	for _, lib := range memoizers {
		b.Run(lib.name, func(b *testing.B) {
			call := lib.new(b)
			if _, err := call(ctx, arg); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := call(ctx, arg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMemoHitParallel is the same on GOMAXPROCS goroutines, over 64
// arguments that all stay in memory.
func BenchmarkMemoHitParallel(b *testing.B) {
	ctx := context.Background()
	for _, lib := range memoizers {
		b.Run(lib.name, func(b *testing.B) {
			call := lib.new(b)
			for i := range 64 {
				if _, err := call(ctx, memoArgs{ID: i, Name: "answer"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := call(ctx, memoArgs{ID: i & 63, Name: "answer"}); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

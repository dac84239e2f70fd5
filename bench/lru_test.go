package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/klepto-sql/klepto/cache"
	"github.com/maypok86/otter/v2"
)

const (
	size     = 1000   // cache size, and the keys read by the Get benchmarks
	putKeys  = 10_000 // keys written by the Put benchmarks
	traceLen = 1 << 16
)

// lruCache is one library's cache, seen through method values so that every
// library pays the same indirect call.
type lruCache struct {
	get func(key string) (int, bool)
	put func(key string, value int)
}

var libraries = []struct {
	name string
	new  func(b *testing.B, size int) lruCache
}{
	{"klepto", func(b *testing.B, n int) lruCache {
		c, err := cache.NewLRU[string, int](n)
		if err != nil {
			b.Fatal(err)
		}
		return lruCache{c.Get, func(k string, v int) { c.Put(k, v) }}
	}},
	{"golang-lru", func(b *testing.B, n int) lruCache {
		c, err := lru.New[string, int](n)
		if err != nil {
			b.Fatal(err)
		}
		return lruCache{c.Get, func(k string, v int) { c.Add(k, v) }}
	}},
	{"otter", func(b *testing.B, n int) lruCache {
		c, err := otter.New(&otter.Options[string, int]{MaximumSize: n})
		if err != nil {
			b.Fatal(err)
		}
		return lruCache{c.GetIfPresent, func(k string, v int) { c.Set(k, v) }}
	}},
}

// keys returns n distinct keys shaped like a memoizer's string keys.
func keys(n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = fmt.Sprintf("(n=%d, name=%q)", i, "klepto")
	}
	return ks
}

// zipfTrace returns traceLen indices into [0, n), Zipf(1.1) distributed,
// the same for every library.
func zipfTrace(n int) []int {
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, uint64(n-1))
	t := make([]int, traceLen)
	for i := range t {
		t[i] = int(z.Uint64())
	}
	return t
}

// newFilled returns a cache holding every key of ks; it fails b if the
// library did not keep them all, since the Get benchmarks measure hits.
func newFilled(b *testing.B, newCache func(*testing.B, int) lruCache, ks []string) lruCache {
	c := newCache(b, size)
	for i, k := range ks {
		c.put(k, i)
	}
	for _, k := range ks {
		if _, ok := c.get(k); !ok {
			b.Fatalf("key %q was not kept", k)
		}
	}
	return c
}

func BenchmarkLRUGet(b *testing.B) {
	ks := keys(size)
	for _, lib := range libraries {
		b.Run(lib.name, func(b *testing.B) {
			c := newFilled(b, lib.new, ks)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.get(ks[i])
				if i++; i == len(ks) {
					i = 0
				}
			}
		})
	}
}

func BenchmarkLRUGetParallel(b *testing.B) {
	ks := keys(size)
	for _, lib := range libraries {
		b.Run(lib.name, func(b *testing.B) {
			c := newFilled(b, lib.new, ks)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(len(ks)) // goroutines start apart
				for pb.Next() {
					c.get(ks[i])
					if i++; i == len(ks) {
						i = 0
					}
				}
			})
		})
	}
}

func BenchmarkLRUPut(b *testing.B) {
	ks, trace := keys(putKeys), zipfTrace(putKeys)
	for _, lib := range libraries {
		b.Run(lib.name, func(b *testing.B) {
			c := lib.new(b, size)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.put(ks[trace[i]], i)
				i = (i + 1) % traceLen
			}
		})
	}
}

func BenchmarkLRUPutParallel(b *testing.B) {
	ks, trace := keys(putKeys), zipfTrace(putKeys)
	for _, lib := range libraries {
		b.Run(lib.name, func(b *testing.B) {
			c := lib.new(b, size)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(traceLen)
				for pb.Next() {
					c.put(ks[trace[i]], i)
					i = (i + 1) % traceLen
				}
			})
		})
	}
}

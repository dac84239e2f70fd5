package cache

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

const benchSize = 1000 // cache size, and keys read by BenchmarkPolicyGet

// benchPolicies lists a constructor per policy, each with maxSize benchSize.
var benchPolicies = []struct {
	name string
	new  func() policy[string, int]
}{
	{"LRU", func() policy[string, int] { return mustPolicy(NewLRU[string, int](benchSize)) }},
	{"LFU", func() policy[string, int] { return mustPolicy(NewLFU[string, int](benchSize)) }},
	{"MRU", func() policy[string, int] { return mustPolicy(NewMRU[string, int](benchSize)) }},
	{"RR", func() policy[string, int] { return mustPolicy(NewRR[string, int](benchSize)) }},
	{"Inf", func() policy[string, int] { return NewInf[string, int]() }},
	{"No", func() policy[string, int] { return NewNo[string, int]() }},
}

func policyKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("(n=%d, name=%q)", i, "klepto")
	}
	return keys
}

// policyZipfTrace returns 1<<16 indices into [0, n), Zipf(1.1) distributed.
func policyZipfTrace(n int) []int {
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, uint64(n-1))
	trace := make([]int, 1<<16)
	for i := range trace {
		trace[i] = int(z.Uint64())
	}
	return trace
}

// BenchmarkPolicyGet reads benchSize keys, in turn, from a full cache: every Get
// hits (except for No).
func BenchmarkPolicyGet(b *testing.B) {
	keys := policyKeys(benchSize)
	for _, p := range benchPolicies {
		b.Run(p.name, func(b *testing.B) {
			c := p.new()
			for i, k := range keys {
				c.put(k, i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.Get(keys[i])
				if i++; i == len(keys) {
					i = 0
				}
			}
		})
	}
}

// BenchmarkPolicyPut writes a Zipf(1.1) stream over 10,000 keys into a cache of
// benchSize: each Put replaces a value or evicts.
func BenchmarkPolicyPut(b *testing.B) {
	keys, trace := policyKeys(10*benchSize), policyZipfTrace(10*benchSize)
	for _, p := range benchPolicies {
		b.Run(p.name, func(b *testing.B) {
			c := p.new()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.put(keys[trace[i]], i)
				i = (i + 1) % len(trace)
			}
		})
	}
}

// BenchmarkPolicyZipf replays a memoizer's workload, a Zipf(1.1) stream over
// 10,000 keys where each miss stores its key, and reports the hit ratio.
func BenchmarkPolicyZipf(b *testing.B) {
	keys, trace := policyKeys(10*benchSize), policyZipfTrace(10*benchSize)
	for _, p := range benchPolicies {
		b.Run(p.name, func(b *testing.B) {
			c := p.new()
			b.ReportAllocs()
			hits, i := 0, 0
			for b.Loop() {
				k := keys[trace[i]]
				if _, ok := c.Get(k); ok {
					hits++
				} else {
					c.put(k, i)
				}
				i = (i + 1) % len(trace)
			}
			b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
		})
	}
}

// BenchmarkPolicyGetParallel is BenchmarkPolicyGet on GOMAXPROCS goroutines.
func BenchmarkPolicyGetParallel(b *testing.B) {
	keys := policyKeys(benchSize)
	for _, p := range benchPolicies {
		b.Run(p.name, func(b *testing.B) {
			c := p.new()
			for i, k := range keys {
				c.put(k, i)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(len(keys))
				for pb.Next() {
					c.Get(keys[i])
					if i++; i == len(keys) {
						i = 0
					}
				}
			})
		})
	}
}

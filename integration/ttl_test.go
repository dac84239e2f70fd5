package integration

import (
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// With an archive TTL of 1 s, an entry leaves memory when its row expires,
// in every policy: a call 1.5 s after the first runs the function again.
// An entry loaded from the archive by another process expires with its row
// too. The policies run side by side, a process each, on archives of their
// own.
func TestTTLInMemory(t *testing.T) {
	const ttl = time.Second
	policies := []cache.Policy{cache.PolicyLRU, cache.PolicyLFU, cache.PolicyMRU, cache.PolicyRR, cache.PolicyInf, cache.PolicyNo}
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			t.Parallel() // the bounds are lower bounds, and the TTL's margin is half a second
			db := sqltest.Fresh(t, d)
			var cfgs []serveConfig
			for _, p := range policies {
				cfg := serveConfigOf(db, "ttl_"+p.String())
				cfg.Policy, cfg.TTL = p.String(), ttl
				cfgs = append(cfgs, cfg)
			}
			// And a process that loads the entry that the LRU process
			// computed.
			loaderCfg := serveConfigOf(db, "ttl_lru")
			loaderCfg.TTL = ttl
			servers := startServers(t, append(cfgs, loaderCfg)...)
			servers, loader := servers[:len(policies)], servers[len(policies)]

			const n = 3
			first := make([]time.Time, len(policies))
			for i, s := range servers {
				r := s.call(n)
				if !r.Ran {
					t.Fatalf("%v: the first call did not run the function: %+v", policies[i], r)
				}
				first[i] = unixTime(r.At)
			}
			if r := loader.call(n); r.Ran || r.Memory || r.Value != square(n) {
				t.Fatalf("loader: the first call = %+v, want a load", r)
			}
			// Within the TTL, the entries are served: from memory, but
			// from the archive in PolicyNo, which keeps nothing.
			for i, s := range servers {
				r := s.call(n)
				if wantMemory := policies[i] != cache.PolicyNo; r.Ran || r.Memory != wantMemory {
					t.Errorf("%v: a call %v after the first = %+v, want served from memory %v", policies[i],
						unixTime(r.At).Sub(first[i]).Round(time.Millisecond), r, wantMemory)
				}
			}
			if r := loader.call(n); r.Ran || !r.Memory {
				t.Errorf("loader: the second call = %+v, want served from memory", r)
			}

			time.Sleep(time.Until(first[len(first)-1].Add(ttl * 3 / 2)))
			if r := loader.must(request{Op: "lookup", N: n}); r.Found {
				t.Errorf("loader: the loaded entry is in memory %v after it was computed, with a TTL of %v",
					time.Since(first[0]).Round(time.Millisecond), ttl)
			}
			for i, s := range servers {
				if r := s.must(request{Op: "lookup", N: n}); r.Found {
					t.Errorf("%v: the entry is in memory after its TTL", policies[i])
				}
				if info := s.info().Info; info.Size != 0 {
					t.Errorf("%v: Info.Size = %d after the TTL, want 0", policies[i], info.Size)
				}
				r := s.call(n)
				after := unixTime(r.At).Sub(first[i])
				if !r.Ran || r.Value != square(n) {
					t.Errorf("%v: a call %v after the first = %+v, want the function run again", policies[i],
						after.Round(time.Millisecond), r)
				}
			}
		})
	}
}

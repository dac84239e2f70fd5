package cache

import (
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	_ policy[string, int] = (*LRU[string, int])(nil)
	_ policy[string, int] = (*LFU[string, int])(nil)
	_ policy[string, int] = (*MRU[string, int])(nil)
	_ policy[string, int] = (*RR[string, int])(nil)
	_ policy[string, int] = (*Inf[string, int])(nil)
	_ policy[string, int] = (*No[string, int])(nil)
)

// checker is implemented, in this file only, by every policy: check verifies
// the internal invariants.
type checker interface{ check() error }

// testPolicy is the whole API every policy shares.
type testPolicy interface {
	policy[int, int]
	checker
	Put(key, value int) bool
	All() iter.Seq2[int, int]
}

// bounded lists the constructors of the bounded policies.
var bounded = []struct {
	name string
	new  func(maxSize int) (testPolicy, error)
}{
	{"LRU", func(n int) (testPolicy, error) { return NewLRU[int, int](n) }},
	{"LFU", func(n int) (testPolicy, error) { return NewLFU[int, int](n) }},
	{"MRU", func(n int) (testPolicy, error) { return NewMRU[int, int](n) }},
	{"RR", func(n int) (testPolicy, error) { return NewRR[int, int](n) }},
}

type namedPolicy struct {
	name string
	c    testPolicy
}

// allPolicies returns one cache of each policy, the bounded ones with the
// given maxSize.
func allPolicies(t *testing.T, maxSize int) []namedPolicy {
	t.Helper()
	var ps []namedPolicy
	for _, b := range bounded {
		c, err := b.new(maxSize)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, namedPolicy{b.name, c})
	}
	return append(ps, namedPolicy{"Inf", NewInf[int, int]()}, namedPolicy{"No", NewNo[int, int]()})
}

// replay replays calls the way a memoizer does (get; on a miss, put) and
// returns the hit and miss counts.
func replay(t *testing.T, c testPolicy, calls ...int) (hits, misses int) {
	t.Helper()
	for _, k := range calls {
		if v, ok := c.Get(k); ok {
			if v != k*10 {
				t.Fatalf("Get(%d) = %d, want %d", k, v, k*10)
			}
			hits++
			continue
		}
		misses++
		c.put(k, k*10)
		if c.MaxSize() > 0 && c.Len() > c.MaxSize() {
			t.Fatalf("after put(%d): Len = %d > MaxSize %d", k, c.Len(), c.MaxSize())
		}
		if err := c.check(); err != nil {
			t.Fatalf("after put(%d): %v", k, err)
		}
	}
	return hits, misses
}

func sortedKeys(c testPolicy) []int {
	keys := c.Keys()
	slices.Sort(keys)
	return keys
}

// TestKleptoExamples replays the worked examples of klepto's decorators
// (LRU and MRU as klepto; LFU as documented on [LFU]).
func TestKleptoExamples(t *testing.T) {
	tests := []struct {
		policy       string
		calls        []int
		keys         []int // sorted
		hits, misses int
	}{
		{"LRU", []int{1, 2, 1, 3, 4}, []int{1, 3, 4}, 1, 4},
		{"LRU", []int{1, 2, 3, 1, 4, 5, 1, 6}, []int{1, 5, 6}, 2, 6},
		{"MRU", []int{1, 2, 1, 3, 4}, []int{1, 2, 4}, 1, 4},
		{"MRU", []int{1, 2, 3, 1, 4, 5, 1, 6}, []int{2, 3, 6}, 1, 7},
		// klepto: {1, 4}, as it evicts two entries at once.
		{"LFU", []int{1, 2, 1, 3, 4}, []int{1, 3, 4}, 1, 4},
		// klepto: {1, 2}.
		{"LFU", []int{1, 1, 1, 2, 2, 3, 4, 5, 6}, []int{1, 2, 6}, 3, 6},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.policy, tc.calls), func(t *testing.T) {
			var c testPolicy
			var err error
			for _, b := range bounded {
				if b.name == tc.policy {
					c, err = b.new(3)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			hits, misses := replay(t, c, tc.calls...)
			if hits != tc.hits || misses != tc.misses {
				t.Errorf("hits, misses = %d, %d; want %d, %d", hits, misses, tc.hits, tc.misses)
			}
			if got := sortedKeys(c); !reflect.DeepEqual(got, tc.keys) {
				t.Errorf("keys = %v, want %v", got, tc.keys)
			}
		})
	}
}

func TestKeysOrder(t *testing.T) {
	tests := []struct {
		name  string
		c     testPolicy
		calls []int
		want  []int
	}{
		{"LRU", mustPolicy(NewLRU[int, int](3)), []int{1, 2, 3, 1}, []int{1, 3, 2}},
		{"MRU", mustPolicy(NewMRU[int, int](3)), []int{1, 2, 3, 1}, []int{1, 3, 2}},
		// Counts 1:3, 2:2, 3:1, 4:1 after the calls; 4 is more recent than 3.
		{"LFU", mustPolicy(NewLFU[int, int](4)), []int{1, 2, 1, 2, 1, 3, 4}, []int{1, 2, 4, 3}},
		// A hit does not reorder an Inf: insertion order, newest first.
		{"Inf", NewInf[int, int](), []int{1, 2, 3, 1}, []int{3, 2, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			replay(t, tc.c, tc.calls...)
			if got := tc.c.Keys(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Keys() = %v, want %v", got, tc.want)
			}
			var es []int
			for _, e := range tc.c.entries() {
				es = append(es, e.key)
			}
			if !reflect.DeepEqual(es, tc.want) {
				t.Errorf("entries() keys = %v, want Keys order %v", es, tc.want)
			}
		})
	}
}

func mustPolicy[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestPeekDoesNotCountAsUse(t *testing.T) {
	c := mustPolicy(NewLRU[int, int](2))
	c.Put(1, 10)
	c.Put(2, 20)
	if v, ok := c.Peek(1); !ok || v != 10 {
		t.Fatalf("Peek(1) = %d, %v; want 10, true", v, ok)
	}
	if got, want := c.Keys(), []int{2, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after Peek(1): Keys() = %v, want %v", got, want)
	}
	if !c.Put(3, 30) {
		t.Fatal("Put(3) into a full cache did not evict")
	}
	if _, ok := c.Peek(1); ok {
		t.Error("1 survived: Peek counted as use")
	}
	if _, ok := c.Peek(4); ok {
		t.Error("Peek(4) found an absent key")
	}

	// The same with Get keeps 1.
	c.Clear()
	c.Put(1, 10)
	c.Put(2, 20)
	c.Get(1)
	c.Put(3, 30)
	if got, want := sortedKeysOf(c.Keys()), []int{1, 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("after Get(1), Put(3): keys = %v, want %v", got, want)
	}
}

func TestLFUPeekDoesNotCount(t *testing.T) {
	c := mustPolicy(NewLFU[int, int](2))
	c.Put(1, 10)
	c.Put(2, 20)
	c.Peek(1)
	c.Peek(1)
	c.Put(3, 30) // 1 and 2 both count 1; 1 is older
	if got, want := sortedKeysOf(c.Keys()), []int{2, 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
}

func sortedKeysOf(keys []int) []int {
	slices.Sort(keys)
	return keys
}

func TestReplaceNeverEvicts(t *testing.T) {
	for _, p := range allPolicies(t, 3) {
		t.Run(p.name, func(t *testing.T) {
			c := p.c
			for k := range 3 {
				c.Put(k, k)
			}
			before := sortedKeys(c)
			for range 5 {
				for k := range 3 {
					if c.Put(k, k+100) {
						t.Fatalf("replacing Put(%d) evicted", k)
					}
					if _, _, ok := c.put(k, k+100); ok {
						t.Fatalf("replacing put(%d) evicted", k)
					}
				}
			}
			if got := sortedKeys(c); !reflect.DeepEqual(got, before) {
				t.Fatalf("keys = %v, want %v", got, before)
			}
			if p.name == "No" {
				return
			}
			if v, ok := c.Peek(1); !ok || v != 101 {
				t.Errorf("Peek(1) = %d, %v; want 101, true", v, ok)
			}
			if err := c.check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestGetNeverEvicts(t *testing.T) {
	for _, p := range allPolicies(t, 3) {
		t.Run(p.name, func(t *testing.T) {
			for k := range 3 {
				p.c.Put(k, k)
			}
			before := sortedKeys(p.c)
			for k := range 10 {
				p.c.Get(k % 5)
			}
			if got := sortedKeys(p.c); !reflect.DeepEqual(got, before) {
				t.Errorf("keys = %v, want %v", got, before)
			}
		})
	}
}

func TestEvictedEntry(t *testing.T) {
	tests := []struct {
		name       string
		c          testPolicy
		wantKey    int
		wantRemain []int
	}{
		{"LRU", mustPolicy(NewLRU[int, int](3)), 2, []int{1, 3, 4}},
		{"MRU", mustPolicy(NewMRU[int, int](3)), 1, []int{2, 3, 4}},
		{"LFU", mustPolicy(NewLFU[int, int](3)), 2, []int{1, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Put(1, 10)
			tc.c.Put(2, 20)
			tc.c.Put(3, 30)
			tc.c.Get(1)
			k, v, ok := tc.c.put(4, 40)
			if !ok || k != tc.wantKey || v != tc.wantKey*10 {
				t.Errorf("put(4) = %d, %d, %v; want %d, %d, true", k, v, ok, tc.wantKey, tc.wantKey*10)
			}
			if got := sortedKeys(tc.c); !reflect.DeepEqual(got, tc.wantRemain) {
				t.Errorf("keys = %v, want %v", got, tc.wantRemain)
			}
		})
	}
}

func TestDeleteClear(t *testing.T) {
	for _, p := range allPolicies(t, 3) {
		t.Run(p.name, func(t *testing.T) {
			c := p.c
			if p.name == "No" {
				c.Put(1, 10)
				if c.Delete(1) || c.Len() != 0 || len(c.Keys()) != 0 {
					t.Fatal("No kept an entry")
				}
				return
			}
			for k := 1; k <= 3; k++ {
				c.Put(k, k*10)
			}
			c.Get(2)
			if !c.Delete(2) {
				t.Fatal("Delete(2) = false, want true")
			}
			if c.Delete(2) {
				t.Fatal("second Delete(2) = true, want false")
			}
			if _, ok := c.Get(2); ok {
				t.Fatal("Get(2) hit after Delete")
			}
			if err := c.check(); err != nil {
				t.Fatal(err)
			}
			if got, want := sortedKeys(c), []int{1, 3}; !reflect.DeepEqual(got, want) {
				t.Fatalf("keys = %v, want %v", got, want)
			}
			// After a Delete, a new key fits without eviction.
			if c.Put(4, 40) {
				t.Fatal("Put(4) evicted with room left")
			}
			for k, want := range map[int]int{1: 10, 3: 30, 4: 40} {
				if v, ok := c.Peek(k); !ok || v != want {
					t.Errorf("Peek(%d) = %d, %v; want %d, true", k, v, ok, want)
				}
			}
			c.Clear()
			if c.Len() != 0 || len(c.Keys()) != 0 || len(c.entries()) != 0 {
				t.Fatalf("after Clear: Len %d, Keys %v", c.Len(), c.Keys())
			}
			if err := c.check(); err != nil {
				t.Fatal(err)
			}
			// Usable after Clear.
			replay(t, c, 5, 6, 5, 7, 8, 9)
			if p.name != "Inf" && c.Len() != 3 {
				t.Errorf("after Clear and 5 new keys: Len = %d, want 3", c.Len())
			}
		})
	}
}

func TestAll(t *testing.T) {
	c := mustPolicy(NewLRU[string, int](3))
	c.Put("a", 1)
	c.Put("b", 2)
	c.Put("c", 3)
	var got []string
	for k, v := range c.All() {
		got = append(got, fmt.Sprint(k, v))
		c.Get("a") // the loop body may use the cache
	}
	if want := []string{"c3", "b2", "a1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("All() = %v, want %v", got, want)
	}
	n := 0
	for range c.All() {
		n++
		break
	}
	if n != 1 {
		t.Errorf("break did not stop All: %d iterations", n)
	}
	for range NewNo[string, int]().All() {
		t.Error("No.All yielded")
	}
}

func TestConstructorErrors(t *testing.T) {
	for _, b := range bounded {
		for _, n := range []int{0, -3, maxMaxSize + 1} {
			t.Run(fmt.Sprint(b.name, n), func(t *testing.T) {
				c, err := b.new(n)
				if !errors.Is(err, ErrMaxSize) {
					t.Fatalf("New%s(%d) error = %v, want ErrMaxSize", b.name, n, err)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("got %d", n)) || !strings.HasPrefix(err.Error(), "cache: ") {
					t.Errorf("error %q does not name the value %d", err, n)
				}
				if c != nil && !reflect.ValueOf(c).IsNil() {
					t.Errorf("New%s(%d) returned a cache with an error", b.name, n)
				}
			})
		}
		if _, err := b.new(1); err != nil {
			t.Errorf("New%s(1): %v", b.name, err)
		}
	}
	if err := checkMaxSize(-3); err.Error() != "cache: maxsize must be at least 1, got -3" {
		t.Errorf("message = %q", err)
	}
}

func TestMaxSize(t *testing.T) {
	for _, p := range allPolicies(t, 3) {
		want := 3
		if p.name == "Inf" || p.name == "No" {
			want = 0
		}
		if got := p.c.MaxSize(); got != want {
			t.Errorf("%s: MaxSize() = %d, want %d", p.name, got, want)
		}
	}
}

func TestInfNeverEvicts(t *testing.T) {
	c := NewInf[int, int]()
	for k := range 1000 {
		if c.Put(k, k) {
			t.Fatalf("Put(%d) evicted", k)
		}
	}
	c.Put(0, -1) // a replace keeps the entry's place
	if c.Len() != 1000 {
		t.Fatalf("Len() = %d, want 1000", c.Len())
	}
	keys := c.Keys()
	if keys[0] != 999 || keys[999] != 0 {
		t.Errorf("Keys() = [%d ... %d], want [999 ... 0]", keys[0], keys[999])
	}
	if v, _ := c.Get(0); v != -1 {
		t.Errorf("Get(0) = %d, want -1", v)
	}
	if err := c.check(); err != nil {
		t.Error(err)
	}
}

func TestNoKeepsNothing(t *testing.T) {
	var c No[int, int] // the zero No is usable
	hits, misses := replay(t, &c, 1, 1, 2)
	if hits != 0 || misses != 3 || c.Len() != 0 {
		t.Errorf("hits %d misses %d len %d; want 0 3 0", hits, misses, c.Len())
	}
	if _, _, ok := c.put(1, 1); ok {
		t.Error("put reported an eviction")
	}
	if _, ok := c.Peek(1); ok {
		t.Error("Peek hit")
	}
}

func TestRRNewKeySurvives(t *testing.T) {
	for seed := range uint64(200) {
		c := mustPolicy(newRR[int, int](4, seed, 1))
		for k := range 50 {
			evicted := c.Put(k, k)
			if evicted != (k >= 4) {
				t.Fatalf("seed %d: Put(%d) evicted = %v", seed, k, evicted)
			}
			if _, ok := c.Peek(k); !ok {
				t.Fatalf("seed %d: Put(%d) evicted its own key", seed, k)
			}
			if c.Len() > 4 {
				t.Fatalf("seed %d: Len() = %d > 4", seed, c.Len())
			}
			if err := c.check(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestRRVictimIsUniform(t *testing.T) {
	// Over many seeds, each of the 4 old keys is chosen about a quarter of
	// the time, and the new key never.
	const runs = 4000
	counts := map[int]int{}
	for seed := range uint64(runs) {
		c := mustPolicy(newRR[int, int](4, seed, seed^0x9e3779b97f4a7c15))
		for k := range 4 {
			c.Put(k, k)
		}
		k, _, ok := c.put(4, 4)
		if !ok {
			t.Fatal("put into a full RR did not evict")
		}
		counts[k]++
	}
	if counts[4] != 0 {
		t.Fatalf("the new key was its own victim %d times", counts[4])
	}
	for k := range 4 {
		// Expected 1000 per key; a binomial σ is about 27, so 800..1200 fails
		// a fair source with negligible probability.
		if counts[k] < 800 || counts[k] > 1200 {
			t.Errorf("key %d chosen %d times in %d runs, want about %d", k, counts[k], runs, runs/4)
		}
	}
}

func TestRRSourcesDiffer(t *testing.T) {
	// Two caches fed the same inserts keep different keys: each has its own
	// source, seeded at random. 100 evictions from 10 slots agree by chance
	// with probability about 10^-100.
	a, b := mustPolicy(NewRR[int, int](10)), mustPolicy(NewRR[int, int](10))
	for k := range 110 {
		a.Put(k, k)
		b.Put(k, k)
	}
	if reflect.DeepEqual(sortedKeysOf(a.Keys()), sortedKeysOf(b.Keys())) {
		t.Errorf("two RR caches evicted the same keys: %v", a.Keys())
	}
}

// TestAgainstModel runs random operations on every ordered policy and on a
// simple O(n) model of it, and compares results, evictions and Keys order.
func TestAgainstModel(t *testing.T) {
	kinds := []struct {
		name string
		new  func(int) testPolicy
		kind modelKind
	}{
		{"LRU", func(n int) testPolicy { return mustPolicy(NewLRU[int, int](n)) }, modelLRU},
		{"MRU", func(n int) testPolicy { return mustPolicy(NewMRU[int, int](n)) }, modelMRU},
		{"LFU", func(n int) testPolicy { return mustPolicy(NewLFU[int, int](n)) }, modelLFU},
		{"Inf", func(int) testPolicy { return NewInf[int, int]() }, modelInf},
	}
	for _, kd := range kinds {
		for _, maxSize := range []int{1, 2, 5, 16, 100} {
			t.Run(fmt.Sprint(kd.name, maxSize), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(uint64(maxSize), 7))
				c := kd.new(maxSize)
				m := &model{kind: kd.kind, maxSize: maxSize}
				for step := range 20000 {
					k := r.IntN(3 * maxSize)
					var op string
					switch x := r.IntN(100); {
					case x < 45:
						op = "Get"
						v, ok := c.Get(k)
						mv, mok := m.get(k, true)
						if v != mv || ok != mok {
							t.Fatalf("step %d: Get(%d) = %d, %v; model %d, %v", step, k, v, ok, mv, mok)
						}
					case x < 55:
						op = "Peek"
						v, ok := c.Peek(k)
						mv, mok := m.get(k, false)
						if v != mv || ok != mok {
							t.Fatalf("step %d: Peek(%d) = %d, %v; model %d, %v", step, k, v, ok, mv, mok)
						}
					case x < 90:
						op = "put"
						ek, ev, ok := c.put(k, step)
						mk, mv, mok := m.put(k, step)
						if ek != mk || ev != mv || ok != mok {
							t.Fatalf("step %d: put(%d) evicted %d, %d, %v; model %d, %d, %v", step, k, ek, ev, ok, mk, mv, mok)
						}
					case x < 99:
						op = "Delete"
						if got, want := c.Delete(k), m.delete(k); got != want {
							t.Fatalf("step %d: Delete(%d) = %v, model %v", step, k, got, want)
						}
					default:
						op = "Clear"
						c.Clear()
						m.entries = nil
					}
					if got, want := c.Keys(), m.keys(); !slices.Equal(got, want) {
						t.Fatalf("step %d, after %s(%d): Keys() = %v, model %v", step, op, k, got, want)
					}
					if c.Len() != len(m.entries) {
						t.Fatalf("step %d: Len() = %d, model %d", step, c.Len(), len(m.entries))
					}
					if err := c.check(); err != nil {
						t.Fatalf("step %d, after %s(%d): %v", step, op, k, err)
					}
				}
			})
		}
	}
}

type modelKind int

const (
	modelLRU modelKind = iota
	modelMRU
	modelLFU
	modelInf
)

// model is a slow, obviously correct policy: every entry records its last
// use, use count and insertion time, and the victim is found by a scan.
type model struct {
	kind    modelKind
	maxSize int
	clock   int
	entries []*modelEntry
}

type modelEntry struct {
	key, value              int
	lastUse, uses, inserted int
}

func (m *model) find(k int) *modelEntry {
	for _, e := range m.entries {
		if e.key == k {
			return e
		}
	}
	return nil
}

func (m *model) use(e *modelEntry) {
	m.clock++
	e.lastUse = m.clock
	e.uses++
}

func (m *model) get(k int, use bool) (int, bool) {
	e := m.find(k)
	if e == nil {
		return 0, false
	}
	if use {
		m.use(e)
	}
	return e.value, true
}

func (m *model) put(k, v int) (int, int, bool) {
	if e := m.find(k); e != nil {
		e.value = v
		m.use(e)
		return 0, 0, false
	}
	var ek, ev int
	evicted := false
	if m.kind != modelInf && len(m.entries) == m.maxSize {
		victim := slices.MinFunc(m.entries, m.less)
		if m.kind == modelMRU {
			victim = slices.MaxFunc(m.entries, m.less)
		}
		ek, ev, evicted = victim.key, victim.value, true
		m.delete(victim.key)
	}
	m.clock++
	e := &modelEntry{key: k, value: v, inserted: m.clock}
	m.use(e)
	m.entries = append(m.entries, e)
	return ek, ev, evicted
}

func (m *model) delete(k int) bool {
	n := len(m.entries)
	m.entries = slices.DeleteFunc(m.entries, func(e *modelEntry) bool { return e.key == k })
	return len(m.entries) < n
}

// less orders entries from least to most valued.
func (m *model) less(a, b *modelEntry) int {
	switch m.kind {
	case modelLFU:
		if a.uses != b.uses {
			return a.uses - b.uses
		}
		return a.lastUse - b.lastUse
	case modelInf:
		return a.inserted - b.inserted
	}
	return a.lastUse - b.lastUse
}

func (m *model) keys() []int {
	es := slices.Clone(m.entries)
	slices.SortFunc(es, func(a, b *modelEntry) int { return m.less(b, a) })
	keys := []int{}
	for _, e := range es {
		keys = append(keys, e.key)
	}
	return keys
}

// TestConcurrent hammers every policy from many goroutines; run it with
// -race. Afterwards the bound and the internal invariants must hold.
func TestConcurrent(t *testing.T) {
	for _, p := range allPolicies(t, 64) {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			hammer(t, p.c)
			if bound := p.c.MaxSize(); bound > 0 && p.c.Len() > bound {
				t.Errorf("Len() = %d > MaxSize() = %d", p.c.Len(), bound)
			}
		})
	}
}

func hammer(t *testing.T, c testPolicy) {
	t.Helper()
	const goroutines, ops = 8, 5000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range ops {
				k := r.IntN(200)
				switch x := r.IntN(100); {
				case x < 50:
					if v, ok := c.Get(k); ok && v != k {
						t.Errorf("Get(%d) = %d", k, v)
						return
					}
				case x < 85:
					c.Put(k, k)
				case x < 95:
					c.Delete(k)
				case x < 97:
					c.Keys()
				case x < 99:
					c.Peek(k)
				default:
					for range c.All() {
					}
				}
			}
		})
	}
	wg.Wait()
	if err := c.check(); err != nil {
		t.Error(err)
	}
	if got, want := len(c.Keys()), c.Len(); got != want {
		t.Errorf("len(Keys()) = %d, Len() = %d", got, want)
	}
}

// Invariant checks, for tests only.

func (c *LRU[K, V]) check() error { return c.c.check() }
func (c *MRU[K, V]) check() error { return c.c.check() }
func (c *Inf[K, V]) check() error { return c.c.check() }
func (*No[K, V]) check() error    { return nil }

func (c *recencyCache[K, V]) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := &c.list
	if l.len() > c.maxSize {
		return fmt.Errorf("len %d > maxSize %d", l.len(), c.maxSize)
	}
	if 2*len(l.nodes) > len(l.table) {
		return fmt.Errorf("table of %d cells holds %d slots", len(l.table), l.len())
	}
	// The table holds each slot once, each where find looks for it.
	index := map[K]int32{}
	used := 0
	for _, s := range l.table {
		if s < 0 || int(s) >= len(l.nodes) {
			return fmt.Errorf("table holds slot %d of %d", s, len(l.nodes))
		}
		if s != 0 {
			index[l.nodes[s].key] = s
			used++
		}
	}
	if used != l.len() {
		return fmt.Errorf("table holds %d slots, list %d", used, l.len())
	}
	for s := int32(1); s < int32(len(l.nodes)); s++ {
		n := l.nodes[s]
		if n.hash != l.hash(n.key) {
			return fmt.Errorf("slot %d: stale hash", s)
		}
		if got := l.find(n.key, n.hash); got != s {
			return fmt.Errorf("find(key of slot %d) = %d", s, got)
		}
	}
	return checkLinks(len(l.nodes), index,
		func(i int32) (int32, int32, K) { n := l.nodes[i]; return n.prev, n.next, n.key })
}

// checkLinks verifies a slab list of n slots (sentinel 0): the ring visits
// every slot once, links are symmetric, and index maps each key to its slot.
func checkLinks[K comparable](n int, index map[K]int32, node func(int32) (prev, next int32, key K)) error {
	if len(index) != n-1 {
		return fmt.Errorf("index has %d keys, list %d entries", len(index), n-1)
	}
	seen := 0
	for i := int32(0); ; {
		_, next, _ := node(i)
		if next < 0 || int(next) >= n {
			return fmt.Errorf("slot %d: next %d out of range", i, next)
		}
		if prev, _, _ := node(next); prev != i {
			return fmt.Errorf("slot %d: next %d points back to %d", i, next, prev)
		}
		if next == 0 {
			break
		}
		if seen++; seen > n-1 {
			return fmt.Errorf("cycle without the sentinel")
		}
		if _, _, key := node(next); index[key] != next {
			return fmt.Errorf("index[%v] = %d, want %d", key, index[key], next)
		}
		i = next
	}
	if seen != n-1 {
		return fmt.Errorf("ring has %d entries, want %d", seen, n-1)
	}
	return nil
}

func (c *LFU[K, V]) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.nodes)-1 > c.maxSize {
		return fmt.Errorf("len %d > maxSize %d", len(c.nodes)-1, c.maxSize)
	}
	err := checkLinks(len(c.nodes), c.index,
		func(i int32) (int32, int32, K) { n := c.nodes[i]; return n.prev, n.next, n.key })
	if err != nil {
		return err
	}
	// Walk the list: buckets are contiguous runs with rising counts, and
	// first/last mark their ends.
	live := map[int32]bool{}
	var prevCount uint64
	for i := c.nodes[0].next; i != 0; {
		b := c.nodes[i].bucket
		bk := c.buckets[b]
		if b == 0 || live[b] {
			return fmt.Errorf("slot %d: bucket %d is the sentinel's or not contiguous", i, b)
		}
		live[b] = true
		if bk.first != i {
			return fmt.Errorf("bucket %d: first %d, want %d", b, bk.first, i)
		}
		if bk.count <= prevCount {
			return fmt.Errorf("bucket %d: count %d after %d", b, bk.count, prevCount)
		}
		prevCount = bk.count
		for c.nodes[i].next != 0 && c.nodes[c.nodes[i].next].bucket == b {
			i = c.nodes[i].next
		}
		if bk.last != i {
			return fmt.Errorf("bucket %d: last %d, want %d", b, bk.last, i)
		}
		i = c.nodes[i].next
	}
	free := 0
	for b := c.freeBucket; b != 0; b = c.buckets[b].first {
		if live[b] {
			return fmt.Errorf("bucket %d is both live and free", b)
		}
		if free++; free > len(c.buckets) {
			return fmt.Errorf("free list has a cycle")
		}
	}
	if len(live)+free != len(c.buckets)-1 {
		return fmt.Errorf("%d live + %d free buckets, want %d", len(live), free, len(c.buckets)-1)
	}
	return nil
}

func (c *RR[K, V]) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.slots) > c.maxSize {
		return fmt.Errorf("len %d > maxSize %d", len(c.slots), c.maxSize)
	}
	if len(c.index) != len(c.slots) {
		return fmt.Errorf("index has %d keys, slots %d", len(c.index), len(c.slots))
	}
	for i, e := range c.slots {
		if c.index[e.key] != int32(i) {
			return fmt.Errorf("index[%v] = %d, want %d", e.key, c.index[e.key], i)
		}
	}
	return nil
}

// TestRecencyListProbing places three keys with chosen hashes in every way
// into a table of 8 cells, including runs that wrap around its end, and
// checks that every key stays findable through removals and replacements.
func TestRecencyListProbing(t *testing.T) {
	findAll := func(t *testing.T, l *recencyList[int, int], hashes map[int]uint64) {
		t.Helper()
		for k, h := range hashes {
			if s := l.find(k, h); s == 0 || l.nodes[s].key != k {
				t.Fatalf("find(%d, %d) = slot %d; table %v", k, h, s, l.table)
			}
		}
		if got := l.len(); got != len(hashes) {
			t.Fatalf("len() = %d, want %d", got, len(hashes))
		}
	}
	for placement := range 8 * 8 * 8 {
		hs := []uint64{uint64(placement % 8), uint64(placement / 8 % 8), uint64(placement / 64)}
		build := func(t *testing.T) (*recencyList[int, int], map[int]uint64) {
			l := newRecencyList[int, int]()
			hashes := map[int]uint64{}
			for k, h := range hs {
				l.pushFront(k, h, k)
				hashes[k] = h
			}
			if len(l.table) != 8 {
				t.Fatalf("table has %d cells, want 8", len(l.table))
			}
			findAll(t, &l, hashes)
			return &l, hashes
		}
		for _, order := range [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
			l, hashes := build(t)
			for _, k := range order {
				l.remove(l.find(k, hashes[k]))
				delete(hashes, k)
				if s := l.find(k, hs[k]); s != 0 {
					t.Fatalf("hashes %v: removed key %d found in slot %d", hs, k, s)
				}
				findAll(t, l, hashes)
			}
		}
		for victim := range 3 {
			for h := range uint64(8) {
				l, hashes := build(t)
				l.replace(l.find(victim, hashes[victim]), 3, h, 3)
				delete(hashes, victim)
				hashes[3] = h
				findAll(t, l, hashes)
			}
		}
	}
}

// TestNoAllocs checks that hits never allocate, nor do Puts that replace or
// evict, for keys without pointers other than strings (keymap.Key's shape).
func TestNoAllocs(t *testing.T) {
	type key struct {
		Text string
		Hash [32]byte
	}
	keys := make([]key, 20)
	for i := range keys {
		keys[i] = key{Text: fmt.Sprint("k", i), Hash: [32]byte{byte(i)}}
	}
	caches := []struct {
		name string
		c    policy[key, int]
	}{
		{"LRU", mustPolicy(NewLRU[key, int](10))},
		{"LFU", mustPolicy(NewLFU[key, int](10))},
		{"MRU", mustPolicy(NewMRU[key, int](10))},
		{"RR", mustPolicy(NewRR[key, int](10))},
		{"Inf", NewInf[key, int]()},
		{"No", NewNo[key, int]()},
	}
	for _, tc := range caches {
		t.Run(tc.name, func(t *testing.T) {
			for i, k := range keys { // fill, and grow what grows
				tc.c.put(k, i)
			}
			present := tc.c.Keys()
			i := 0
			if n := testing.AllocsPerRun(100, func() {
				if len(present) > 0 {
					tc.c.Get(present[i%len(present)])
				}
				tc.c.Peek(keys[i%len(keys)])
				i++
			}); n != 0 {
				t.Errorf("Get and Peek: %v allocs per run, want 0", n)
			}
			if n := testing.AllocsPerRun(100, func() {
				tc.c.put(keys[i%len(keys)], i) // replaces or evicts
				i++
			}); n != 0 {
				t.Errorf("put: %v allocs per run, want 0", n)
			}
		})
	}
}

package cache

import (
	"iter"
	"math/rand/v2"
	"sync"
)

// RR is a cache of at most MaxSize entries that, to make room for a new key,
// evicts an entry chosen uniformly at random among those already present. The
// new key is never its own victim (klepto's rr_cache picks among all keys,
// the new one included, so an insert there may store nothing).
//
// Each RR has its own random source (PCG, seeded from the runtime's random
// generator); it never draws from the global one. Get, Peek, Put and Delete
// take O(1) time, and Get never allocates: a hit changes nothing.
//
// An RR must be created with [NewRR]. It is safe for concurrent use.
type RR[K comparable, V any] struct {
	maxSize int

	mu    sync.Mutex // guards following fields
	rng   *rand.Rand
	index map[K]int32 // key -> position in slots
	slots []entry[K, V]
}

// NewRR returns an empty RR cache that holds at most maxSize entries. It
// returns an error wrapping [ErrMaxSize] if maxSize is less than 1 or greater
// than math.MaxInt32-1.
func NewRR[K comparable, V any](maxSize int) (*RR[K, V], error) {
	return newRR[K, V](maxSize, rand.Uint64(), rand.Uint64())
}

// newRR is NewRR with a given seed.
func newRR[K comparable, V any](maxSize int, seed1, seed2 uint64) (*RR[K, V], error) {
	if err := checkMaxSize(maxSize); err != nil {
		return nil, err
	}
	return &RR[K, V]{
		maxSize: maxSize,
		rng:     rand.New(rand.NewPCG(seed1, seed2)),
		index:   make(map[K]int32),
	}, nil
}

// Get returns the value stored for key.
func (c *RR[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[key]
	if !ok {
		var zero V
		return zero, false
	}
	return c.slots[i].value, true
}

// Peek returns the value stored for key. For an RR it is the same as
// [RR.Get].
func (c *RR[K, V]) Peek(key K) (V, bool) { return c.Get(key) }

// Put stores value for key. If key is new and the cache is full, Put first
// evicts a random entry other than key and reports true. Replacing the value
// of a present key never evicts.
func (c *RR[K, V]) Put(key K, value V) (evicted bool) {
	_, _, evicted = c.put(key, value)
	return evicted
}

func (c *RR[K, V]) put(key K, value V) (evictedKey K, evictedValue V, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, found := c.index[key]; found {
		c.slots[i].value = value
		return evictedKey, evictedValue, false
	}
	if len(c.slots) < c.maxSize {
		c.index[key] = int32(len(c.slots))
		c.slots = append(c.slots, entry[K, V]{key, value})
		return evictedKey, evictedValue, false
	}
	i := c.rng.Int32N(int32(len(c.slots)))
	old := c.slots[i]
	delete(c.index, old.key)
	c.slots[i] = entry[K, V]{key, value}
	c.index[key] = i
	return old.key, old.value, true
}

// Delete removes key and reports whether it was present.
func (c *RR[K, V]) Delete(key K) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[key]
	if !ok {
		return false
	}
	delete(c.index, key)
	last := int32(len(c.slots) - 1)
	if i != last {
		c.slots[i] = c.slots[last]
		c.index[c.slots[i].key] = i
	}
	c.slots[last] = entry[K, V]{}
	c.slots = c.slots[:last]
	return true
}

// Len returns the number of entries.
func (c *RR[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.slots)
}

// Keys returns the keys in no particular order: an RR has no notion of
// value. The order changes as entries are deleted or replaced.
func (c *RR[K, V]) Keys() []K {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]K, len(c.slots))
	for i, e := range c.slots {
		keys[i] = e.key
	}
	return keys
}

// All returns an iterator over the entries in [RR.Keys] order. It ranges over
// a snapshot taken when iteration starts, so the loop body may use the cache.
func (c *RR[K, V]) All() iter.Seq2[K, V] { return snapshotSeq(c.entries) }

func (c *RR[K, V]) entries() []entry[K, V] {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]entry[K, V](nil), c.slots...)
}

// Clear removes every entry.
func (c *RR[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

func (c *RR[K, V]) drain() []entry[K, V] {
	c.mu.Lock()
	defer c.mu.Unlock()
	entries := c.slots[:len(c.slots):len(c.slots)]
	c.slots = nil
	c.clearLocked()
	return entries
}

func (c *RR[K, V]) clearLocked() {
	clear(c.index)
	clear(c.slots)
	c.slots = c.slots[:0]
}

// MaxSize returns the bound given to [NewRR].
func (c *RR[K, V]) MaxSize() int { return c.maxSize }

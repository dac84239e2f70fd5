package cache

import "iter"

// Inf is an unbounded cache: it never evicts. It keeps its entries in
// insertion order, so [Inf.Keys] and [Inf.All] list the most recently
// inserted key first; replacing a value keeps the entry's place, and
// [Inf.Get] changes nothing.
//
// Entries are addressed by int32 slots, so an Inf holds at most
// math.MaxInt32-1 of them; at that count (tens of gigabytes of entries), a
// new key replaces the oldest one. Keys are hashed as by an [LRU].
//
// Create an Inf with [NewInf]. It is safe for concurrent use.
type Inf[K comparable, V any] struct {
	c recencyCache[K, V]
}

// NewInf returns an empty unbounded cache.
func NewInf[K comparable, V any]() *Inf[K, V] {
	// Insertion order, and the bound an int32 slot allows.
	return &Inf[K, V]{c: recencyCache[K, V]{maxSize: maxMaxSize, list: newRecencyList[K, V]()}}
}

// Get returns the value stored for key.
func (c *Inf[K, V]) Get(key K) (V, bool) { return c.c.get(key) }

// Peek returns the value stored for key. For an Inf it is the same as
// [Inf.Get].
func (c *Inf[K, V]) Peek(key K) (V, bool) { return c.c.peek(key) }

// Put stores value for key. It never evicts, so it returns false.
func (c *Inf[K, V]) Put(key K, value V) (evicted bool) {
	_, _, evicted = c.c.put(key, value)
	return evicted
}

func (c *Inf[K, V]) put(key K, value V) (K, V, bool) { return c.c.put(key, value) }

// Delete removes key and reports whether it was present.
func (c *Inf[K, V]) Delete(key K) bool { return c.c.delete(key) }

// Len returns the number of entries.
func (c *Inf[K, V]) Len() int { return c.c.len() }

// Keys returns the keys, most recently inserted first.
func (c *Inf[K, V]) Keys() []K { return c.c.keys() }

// All returns an iterator over the entries, most recently inserted first. It
// ranges over a snapshot taken when iteration starts, so the loop body may use
// the cache.
func (c *Inf[K, V]) All() iter.Seq2[K, V] { return snapshotSeq(c.c.entries) }

func (c *Inf[K, V]) entries() []entry[K, V] { return c.c.entries() }

func (c *Inf[K, V]) drain() []entry[K, V] { return c.c.drain() }

// Clear removes every entry.
func (c *Inf[K, V]) Clear() { c.c.clear() }

// MaxSize returns 0: an Inf has no bound.
func (c *Inf[K, V]) MaxSize() int { return 0 }

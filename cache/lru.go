package cache

import "iter"

// LRU is a cache of at most MaxSize entries that, to make room for a new key,
// evicts the least recently used entry. [LRU.Get] and [LRU.Put] count as uses;
// [LRU.Peek] does not.
//
// Get, Peek, Put and Delete take O(1) time. Get never allocates, nor does a
// Put that replaces a value or evicts: entries live in one slice, linked by
// index, and an evicted entry's slot takes the new one. An LRU keeps one
// exact recency order under one mutex, and hashes keys before taking it.
//
// Keys are hashed with [hash/maphash.Comparable]. As there, a key that
// holds a pointer other than a string's (a pointer, an interface, or a
// struct or array holding one) escapes to the heap, so building such a key
// for a call may allocate. Keys of strings, numbers, and structs and arrays
// of them never do.
//
// An LRU must be created with [NewLRU]. It is safe for concurrent use.
type LRU[K comparable, V any] struct {
	c recencyCache[K, V]
}

// NewLRU returns an empty LRU cache that holds at most maxSize entries. It
// returns an error wrapping [ErrMaxSize] if maxSize is less than 1 or greater
// than math.MaxInt32-1.
func NewLRU[K comparable, V any](maxSize int) (*LRU[K, V], error) {
	if err := checkMaxSize(maxSize); err != nil {
		return nil, err
	}
	return &LRU[K, V]{c: recencyCache[K, V]{
		maxSize: maxSize,
		byUse:   true,
		list:    newRecencyList[K, V](),
	}}, nil
}

// Get returns the value stored for key and marks the entry as the most
// recently used.
func (c *LRU[K, V]) Get(key K) (V, bool) { return c.c.get(key) }

// Peek returns the value stored for key without marking it as used.
func (c *LRU[K, V]) Peek(key K) (V, bool) { return c.c.peek(key) }

// Put stores value for key and marks the entry as the most recently used. If
// key is new and the cache is full, Put first evicts the least recently used
// entry and reports true. Replacing the value of a present key never evicts.
func (c *LRU[K, V]) Put(key K, value V) (evicted bool) {
	_, _, evicted = c.c.put(key, value)
	return evicted
}

func (c *LRU[K, V]) put(key K, value V) (K, V, bool) { return c.c.put(key, value) }

// Delete removes key and reports whether it was present.
func (c *LRU[K, V]) Delete(key K) bool { return c.c.delete(key) }

// Len returns the number of entries.
func (c *LRU[K, V]) Len() int { return c.c.len() }

// Keys returns the keys, most recently used first.
func (c *LRU[K, V]) Keys() []K { return c.c.keys() }

// All returns an iterator over the entries, most recently used first. It
// ranges over a snapshot taken when iteration starts, so the loop body may use
// the cache. Iterating does not count as use.
func (c *LRU[K, V]) All() iter.Seq2[K, V] { return snapshotSeq(c.c.entries) }

func (c *LRU[K, V]) entries() []entry[K, V] { return c.c.entries() }

func (c *LRU[K, V]) drain() []entry[K, V] { return c.c.drain() }

// Clear removes every entry.
func (c *LRU[K, V]) Clear() { c.c.clear() }

// MaxSize returns the bound given to [NewLRU].
func (c *LRU[K, V]) MaxSize() int { return c.c.maxSize }

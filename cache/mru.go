package cache

import "iter"

// MRU is a cache of at most MaxSize entries that, to make room for a new key,
// evicts the most recently used entry. [MRU.Get] and [MRU.Put] count as uses;
// [MRU.Peek] does not. MRU suits cyclic scans larger than the cache, where
// the entry just used is the one needed last.
//
// Get, Peek, Put and Delete take O(1) time (klepto's mru_cache takes O(n) for
// a hit, which removes the key from a deque). Get never allocates, nor does a
// Put that replaces a value or evicts. Keys are hashed as by an [LRU].
//
// An MRU must be created with [NewMRU]. It is safe for concurrent use.
type MRU[K comparable, V any] struct {
	c recencyCache[K, V]
}

// NewMRU returns an empty MRU cache that holds at most maxSize entries. It
// returns an error wrapping [ErrMaxSize] if maxSize is less than 1 or greater
// than math.MaxInt32-1.
func NewMRU[K comparable, V any](maxSize int) (*MRU[K, V], error) {
	if err := checkMaxSize(maxSize); err != nil {
		return nil, err
	}
	return &MRU[K, V]{c: recencyCache[K, V]{
		maxSize:    maxSize,
		byUse:      true,
		evictFront: true,
		list:       newRecencyList[K, V](),
	}}, nil
}

// Get returns the value stored for key and marks the entry as the most
// recently used.
func (c *MRU[K, V]) Get(key K) (V, bool) { return c.c.get(key) }

// Peek returns the value stored for key without marking it as used.
func (c *MRU[K, V]) Peek(key K) (V, bool) { return c.c.peek(key) }

// Put stores value for key and marks the entry as the most recently used. If
// key is new and the cache is full, Put first evicts the most recently used
// entry (the one used before this call) and reports true. Replacing the value
// of a present key never evicts.
func (c *MRU[K, V]) Put(key K, value V) (evicted bool) {
	_, _, evicted = c.c.put(key, value)
	return evicted
}

func (c *MRU[K, V]) put(key K, value V) (K, V, bool) { return c.c.put(key, value) }

// Delete removes key and reports whether it was present.
func (c *MRU[K, V]) Delete(key K) bool { return c.c.delete(key) }

// Len returns the number of entries.
func (c *MRU[K, V]) Len() int { return c.c.len() }

// Keys returns the keys, most recently used first.
func (c *MRU[K, V]) Keys() []K { return c.c.keys() }

// All returns an iterator over the entries, most recently used first. It
// ranges over a snapshot taken when iteration starts, so the loop body may use
// the cache. Iterating does not count as use.
func (c *MRU[K, V]) All() iter.Seq2[K, V] { return snapshotSeq(c.c.entries) }

func (c *MRU[K, V]) entries() []entry[K, V] { return c.c.entries() }

func (c *MRU[K, V]) drain() []entry[K, V] { return c.c.drain() }

// Clear removes every entry.
func (c *MRU[K, V]) Clear() { c.c.clear() }

// MaxSize returns the bound given to [NewMRU].
func (c *MRU[K, V]) MaxSize() int { return c.c.maxSize }

package cache

import (
	"iter"
	"sync"
)

// LFU is a cache of at most MaxSize entries that, to make room for a new key,
// evicts the least frequently used entry, and of several equally used ones
// the least recently used. [LFU.Get] and every [LFU.Put] count as a use (the
// Put that inserts a key is its first); [LFU.Peek] does not.
//
// LFU evicts exactly one entry per insert into a full cache, so it stays at
// MaxSize. klepto's lfu_cache evicts max(2, maxsize/10) entries at once and
// drops below its bound: with maxsize 3, the calls 1, 2, 1, 3, 4 leave
// {1, 4} there and {1, 3, 4} here.
//
// Get, Peek, Put and Delete take O(1) time: entries of equal count are kept
// together in frequency buckets, so finding the victim is not a scan. Get
// never allocates.
//
// An LFU must be created with [NewLFU]. It is safe for concurrent use.
type LFU[K comparable, V any] struct {
	maxSize int

	mu sync.Mutex // guards following fields
	// index maps a key to its slot in nodes.
	index map[K]int32
	// nodes holds the entries in one circular list, ordered by (count,
	// recency) ascending: nodes[0] is the sentinel, nodes[0].next the victim,
	// nodes[0].prev the most used. Entries of one count are contiguous and
	// form a bucket.
	nodes []lfuNode[K, V]
	// buckets[0] is the sentinel's (count 0); the others are in use or on the
	// free list that starts at freeBucket (0: empty).
	buckets    []lfuBucket
	freeBucket int32
}

type lfuNode[K comparable, V any] struct {
	key        K
	value      V
	prev, next int32
	bucket     int32
}

// lfuBucket is a run of entries with the same use count, first (least
// recent) to last (most recent). A free bucket keeps the next free one in
// first.
type lfuBucket struct {
	count       uint64
	first, last int32
}

// NewLFU returns an empty LFU cache that holds at most maxSize entries. It
// returns an error wrapping [ErrMaxSize] if maxSize is less than 1 or greater
// than math.MaxInt32-1.
func NewLFU[K comparable, V any](maxSize int) (*LFU[K, V], error) {
	if err := checkMaxSize(maxSize); err != nil {
		return nil, err
	}
	return &LFU[K, V]{
		maxSize: maxSize,
		index:   make(map[K]int32),
		nodes:   make([]lfuNode[K, V], 1),
		buckets: make([]lfuBucket, 1),
	}, nil
}

// Get returns the value stored for key and counts a use of it.
func (c *LFU[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	i, ok := c.index[key]
	if !ok {
		c.mu.Unlock()
		var zero V
		return zero, false
	}
	c.use(i)
	v := c.nodes[i].value
	c.mu.Unlock()
	return v, true
}

// Peek returns the value stored for key without counting a use.
func (c *LFU[K, V]) Peek(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[key]
	if !ok {
		var zero V
		return zero, false
	}
	return c.nodes[i].value, true
}

// Put stores value for key and counts a use of it. If key is new and the
// cache is full, Put first evicts the least frequently used entry and reports
// true. Replacing the value of a present key never evicts.
func (c *LFU[K, V]) Put(key K, value V) (evicted bool) {
	_, _, evicted = c.put(key, value)
	return evicted
}

func (c *LFU[K, V]) put(key K, value V) (evictedKey K, evictedValue V, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, found := c.index[key]; found {
		c.nodes[i].value = value
		c.use(i)
		return evictedKey, evictedValue, false
	}
	var i int32
	if len(c.nodes)-1 < c.maxSize {
		i = int32(len(c.nodes))
		c.nodes = append(c.nodes, lfuNode[K, V]{})
	} else {
		// Reuse the victim's slot.
		i = c.nodes[0].next
		evictedKey, evictedValue, ok = c.nodes[i].key, c.nodes[i].value, true
		c.leave(i)
		delete(c.index, evictedKey)
	}
	n := &c.nodes[i]
	n.key, n.value = key, value
	c.index[key] = i
	// A new entry is the most recent of count 1.
	if b := c.nodes[c.nodes[0].next].bucket; b != 0 && c.buckets[b].count == 1 {
		c.join(i, b, c.buckets[b].last)
	} else {
		c.join(i, c.newBucket(1), 0)
	}
	return evictedKey, evictedValue, ok
}

// use counts one more use of the entry in slot i, moving it to the end of
// the next bucket.
func (c *LFU[K, V]) use(i int32) {
	b := c.nodes[i].bucket
	bk := c.buckets[b]
	next := c.nodes[c.nodes[bk.last].next].bucket
	switch {
	case next != 0 && c.buckets[next].count == bk.count+1:
		after := c.buckets[next].last
		c.leave(i)
		c.join(i, next, after)
	case bk.first == i && bk.last == i:
		// Alone in its bucket, and no bucket for count+1: bump the count.
		c.buckets[b].count++
	default:
		after := bk.last
		if after == i {
			after = c.nodes[i].prev
		}
		c.leave(i)
		c.join(i, c.newBucket(bk.count+1), after)
	}
}

// leave unlinks slot i from the list and from its bucket, freeing the bucket
// if it becomes empty.
func (c *LFU[K, V]) leave(i int32) {
	n := &c.nodes[i]
	c.nodes[n.prev].next = n.next
	c.nodes[n.next].prev = n.prev
	bk := &c.buckets[n.bucket]
	switch {
	case bk.first == i && bk.last == i:
		*bk = lfuBucket{first: c.freeBucket}
		c.freeBucket = n.bucket
	case bk.first == i:
		bk.first = n.next
	case bk.last == i:
		bk.last = n.prev
	}
	n.bucket = 0
}

// join links slot i into the list after slot after, as the last entry of
// bucket b, which must be after's bucket or a new, empty one.
func (c *LFU[K, V]) join(i, b, after int32) {
	n := &c.nodes[i]
	n.prev = after
	n.next = c.nodes[after].next
	c.nodes[n.next].prev = i
	c.nodes[after].next = i
	n.bucket = b
	bk := &c.buckets[b]
	if bk.first == 0 {
		bk.first = i
	}
	bk.last = i
}

// newBucket returns an empty bucket for count.
func (c *LFU[K, V]) newBucket(count uint64) int32 {
	b := c.freeBucket
	if b == 0 {
		b = int32(len(c.buckets))
		c.buckets = append(c.buckets, lfuBucket{})
	} else {
		c.freeBucket = c.buckets[b].first
	}
	c.buckets[b] = lfuBucket{count: count}
	return b
}

// Delete removes key and reports whether it was present.
func (c *LFU[K, V]) Delete(key K) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[key]
	if !ok {
		return false
	}
	c.leave(i)
	delete(c.index, key)
	// Fill the hole with the last slot.
	last := int32(len(c.nodes) - 1)
	if i != last {
		n := c.nodes[last]
		c.nodes[i] = n
		c.nodes[n.prev].next = i
		c.nodes[n.next].prev = i
		c.index[n.key] = i
		bk := &c.buckets[n.bucket]
		if bk.first == last {
			bk.first = i
		}
		if bk.last == last {
			bk.last = i
		}
	}
	c.nodes[last] = lfuNode[K, V]{}
	c.nodes = c.nodes[:last]
	return true
}

// Len returns the number of entries.
func (c *LFU[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes) - 1
}

// Keys returns the keys, most frequently used first; of equally used keys,
// the most recently used comes first.
func (c *LFU[K, V]) Keys() []K {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]K, 0, len(c.nodes)-1)
	for i := c.nodes[0].prev; i != 0; i = c.nodes[i].prev {
		keys = append(keys, c.nodes[i].key)
	}
	return keys
}

// All returns an iterator over the entries in [LFU.Keys] order. It ranges
// over a snapshot taken when iteration starts, so the loop body may use the
// cache. Iterating does not count as use.
func (c *LFU[K, V]) All() iter.Seq2[K, V] { return snapshotSeq(c.entries) }

func (c *LFU[K, V]) entries() []entry[K, V] {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entriesLocked()
}

func (c *LFU[K, V]) drain() []entry[K, V] {
	c.mu.Lock()
	defer c.mu.Unlock()
	entries := c.entriesLocked()
	c.clearLocked()
	return entries
}

func (c *LFU[K, V]) entriesLocked() []entry[K, V] {
	entries := make([]entry[K, V], 0, len(c.nodes)-1)
	for i := c.nodes[0].prev; i != 0; i = c.nodes[i].prev {
		entries = append(entries, entry[K, V]{c.nodes[i].key, c.nodes[i].value})
	}
	return entries
}

// Clear removes every entry.
func (c *LFU[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

func (c *LFU[K, V]) clearLocked() {
	clear(c.index)
	clear(c.nodes)
	c.nodes = c.nodes[:1]
	c.buckets = c.buckets[:1]
	c.freeBucket = 0
}

// MaxSize returns the bound given to [NewLFU].
func (c *LFU[K, V]) MaxSize() int { return c.maxSize }

package cache

import "sync"

// recencyCache is the body shared by [LRU], [MRU] and [Inf]: a recencyList
// under a mutex, plus the policy's two choices: whether uses reorder the
// list, and which end of it a full cache evicts.
type recencyCache[K comparable, V any] struct {
	maxSize    int
	byUse      bool // Get and a replacing Put move the entry to the front
	evictFront bool // a full cache evicts the front (MRU), not the back (LRU)

	mu   sync.Mutex // guards list
	list recencyList[K, V]
}

// Every method hashes the key before it locks, to keep the critical section
// short.

func (c *recencyCache[K, V]) get(key K) (V, bool) {
	h := c.list.hash(key)
	c.mu.Lock()
	i := c.list.find(key, h)
	if i == 0 {
		c.mu.Unlock()
		var zero V
		return zero, false
	}
	if c.byUse {
		c.list.moveToFront(i)
	}
	v := c.list.nodes[i].value
	c.mu.Unlock()
	return v, true
}

func (c *recencyCache[K, V]) peek(key K) (V, bool) {
	h := c.list.hash(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.list.find(key, h)
	if i == 0 {
		var zero V
		return zero, false
	}
	return c.list.nodes[i].value, true
}

// put stores value for key; a new key goes to the front. A new key in a full
// cache takes the slot of the victim, whose entry put returns.
func (c *recencyCache[K, V]) put(key K, value V) (evictedKey K, evictedValue V, ok bool) {
	h := c.list.hash(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := c.list.find(key, h); i != 0 {
		c.list.nodes[i].value = value
		if c.byUse {
			c.list.moveToFront(i)
		}
		return evictedKey, evictedValue, false
	}
	if c.list.len() < c.maxSize {
		c.list.pushFront(key, h, value)
		return evictedKey, evictedValue, false
	}
	victim := c.list.nodes[0].prev
	if c.evictFront {
		victim = c.list.nodes[0].next
	}
	evictedKey, evictedValue = c.list.replace(victim, key, h, value)
	return evictedKey, evictedValue, true
}

func (c *recencyCache[K, V]) delete(key K) bool {
	h := c.list.hash(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.list.find(key, h)
	if i != 0 {
		c.list.remove(i)
	}
	return i != 0
}

func (c *recencyCache[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.list.len()
}

func (c *recencyCache[K, V]) keys() []K {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.list.keys()
}

func (c *recencyCache[K, V]) entries() []entry[K, V] {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.list.entries()
}

func (c *recencyCache[K, V]) drain() []entry[K, V] {
	c.mu.Lock()
	defer c.mu.Unlock()
	entries := c.list.entries()
	c.list.clear()
	return entries
}

func (c *recencyCache[K, V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list.clear()
}

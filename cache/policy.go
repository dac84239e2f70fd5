package cache

// policy is what a Memo needs from its in-memory layer. The six caches
// (LRU, LFU, MRU, RR, Inf, No) implement it; their exported methods are the
// standalone API.
//
// put inserts or replaces key and, when the insert pushed the cache over its
// bound, evicts exactly one entry and returns it (ok == true). Replacing an
// existing key never evicts. Hits (get) never evict. All methods are safe for
// concurrent use.
type policy[K comparable, V any] interface {
	Get(key K) (V, bool)  // a hit: updates the policy's bookkeeping
	Peek(key K) (V, bool) // no bookkeeping
	Delete(key K) bool
	Len() int
	Keys() []K // most valued first where the policy has an order (LRU: most recent first)
	Clear()
	MaxSize() int // 0 for Inf (unbounded) and No (keeps nothing)
	put(key K, value V) (evictedKey K, evictedValue V, ok bool)
	entries() []entry[K, V] // snapshot of every entry, in Keys order
	drain() []entry[K, V]   // removes every entry and returns them, atomically
}

type entry[K comparable, V any] struct {
	key   K
	value V
}

package cache

import "iter"

// No is a cache that keeps nothing: [No.Put] stores nothing and every
// [No.Get] misses. As the in-memory layer of a memoizer with an archive it
// makes every call go to the archive; without one, nothing is memoized.
//
// The zero No is ready to use, and it is safe for concurrent use.
type No[K comparable, V any] struct{}

// NewNo returns a cache that keeps nothing.
func NewNo[K comparable, V any]() *No[K, V] { return &No[K, V]{} }

// Get always reports a miss.
func (*No[K, V]) Get(key K) (V, bool) {
	var zero V
	return zero, false
}

// Peek always reports a miss.
func (*No[K, V]) Peek(key K) (V, bool) {
	var zero V
	return zero, false
}

// Put stores nothing and returns false.
func (*No[K, V]) Put(key K, value V) (evicted bool) { return false }

func (*No[K, V]) put(key K, value V) (evictedKey K, evictedValue V, ok bool) {
	return evictedKey, evictedValue, false
}

// Delete returns false: no key is ever present.
func (*No[K, V]) Delete(key K) bool { return false }

// Len returns 0.
func (*No[K, V]) Len() int { return 0 }

// Keys returns an empty slice.
func (*No[K, V]) Keys() []K { return []K{} }

// All returns an empty iterator.
func (*No[K, V]) All() iter.Seq2[K, V] { return func(func(K, V) bool) {} }

func (*No[K, V]) entries() []entry[K, V] { return nil }

func (*No[K, V]) drain() []entry[K, V] { return nil }

// Clear does nothing.
func (*No[K, V]) Clear() {}

// MaxSize returns 0: a No holds nothing.
func (*No[K, V]) MaxSize() int { return 0 }

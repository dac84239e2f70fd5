package cache_test

import (
	"errors"
	"fmt"

	"github.com/klepto-sql/klepto/cache"
)

// The least recently used entry makes room for a new key.
func ExampleNewLRU() {
	c, err := cache.NewLRU[string, int](2)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Put("a", 1)
	c.Put("b", 2)
	c.Get("a")               // "a" is now the most recently used
	evicted := c.Put("c", 3) // evicts "b"
	fmt.Println(evicted, c.Keys())

	_, err = cache.NewLRU[string, int](0)
	fmt.Println(errors.Is(err, cache.ErrMaxSize), err)
	// Output:
	// true [c a]
	// true cache: maxsize must be at least 1, got 0
}

// The least frequently used entry makes room, and of equally used ones the
// least recently used.
func ExampleNewLFU() {
	c, err := cache.NewLFU[int, string](3)
	if err != nil {
		fmt.Println(err)
		return
	}
	// klepto's worked example: calls 1, 2, 1, 3, 4, where each miss stores.
	for _, k := range []int{1, 2, 1, 3, 4} {
		if _, ok := c.Get(k); !ok {
			c.Put(k, fmt.Sprint("v", k))
		}
	}
	fmt.Println(c.Keys()) // 1 was used twice; 2 was the older of the others
	// Output:
	// [1 4 3]
}

// The most recently used entry makes room: good for cyclic scans.
func ExampleNewMRU() {
	c, err := cache.NewMRU[int, string](3)
	if err != nil {
		fmt.Println(err)
		return
	}
	hits := 0
	for _, k := range []int{1, 2, 1, 3, 4} {
		if _, ok := c.Get(k); ok {
			hits++
			continue
		}
		c.Put(k, fmt.Sprint("v", k))
	}
	fmt.Println(hits, c.Keys()) // 4 replaced 3, the most recent before it
	// Output:
	// 1 [4 1 2]
}

// A random entry other than the new one makes room.
func ExampleNewRR() {
	c, err := cache.NewRR[int, int](100)
	if err != nil {
		fmt.Println(err)
		return
	}
	for k := range 1000 {
		c.Put(k, k*k)
	}
	v, ok := c.Get(999) // the last key inserted is always present
	fmt.Println(c.Len(), v, ok)
	// Output:
	// 100 998001 true
}

// An unbounded cache.
func ExampleNewInf() {
	c := cache.NewInf[string, int]()
	c.Put("a", 1)
	c.Put("b", 2)
	c.Put("a", 10) // replaces; "a" keeps its place
	for k, v := range c.All() {
		fmt.Println(k, v)
	}
	fmt.Println(c.MaxSize())
	// Output:
	// b 2
	// a 10
	// 0
}

// A cache that keeps nothing, for code that takes a cache but should not
// remember.
func ExampleNewNo() {
	c := cache.NewNo[string, int]()
	c.Put("a", 1)
	_, ok := c.Get("a")
	fmt.Println(ok, c.Len())
	// Output:
	// false 0
}

package cache_test

import (
	"context"
	"fmt"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
)

// A memoized function of two named arguments, passed as a struct.
func ExampleMemoize() {
	type args struct {
		Base, Exp int
	}
	pow := func(_ context.Context, a args) (int, error) {
		r := 1
		for range a.Exp {
			r *= a.Base
		}
		return r, nil
	}
	m, err := cache.Memoize(pow, &cache.MemoOptions[int]{MaxSize: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, a := range []args{{2, 10}, {3, 3}, {2, 10}} {
		v, err := m.Call(ctx, a)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(v)
	}
	fmt.Printf("%+v\n", m.Info())
	// Output:
	// 1024
	// 27
	// 1024
	// {Hits:1 Misses:2 Loads:0 Errors:0 MaxSize:2 Size:2}
}

// Write-back mode with purge, klepto's default way with an archive: results
// stay in memory until memory overflows, then all of them are dumped to the
// archive and memory starts empty.
func ExampleMemoOptions_writeBack() {
	ctx := context.Background()
	a := archive.NewDict[int]()
	m, _ := cache.Memoize(func(_ context.Context, n int) (int, error) { return n * n, nil },
		&cache.MemoOptions[int]{MaxSize: 3, Archive: a, WriteBack: true, Purge: true})
	for _, n := range []int{1, 2, 3} {
		m.Call(ctx, n)
	}
	n, _ := a.Len(ctx)
	fmt.Println("archived before overflow:", n)
	m.Call(ctx, 4)
	n, _ = a.Len(ctx)
	fmt.Println("archived after overflow:", n, "in memory:", m.Info().Size)
	// Output:
	// archived before overflow: 0
	// archived after overflow: 4 in memory: 0
}

// Key and Lookup show what a call would use, without calling.
func ExampleMemo_Lookup() {
	m, _ := cache.Memoize(func(_ context.Context, s string) (int, error) { return len(s), nil }, nil)
	m.Call(context.Background(), "klepto")
	v, ok, _ := m.Lookup("klepto")
	fmt.Println(v, ok)
	_, ok, _ = m.Lookup("sql")
	fmt.Println(ok)
	// Output:
	// 6 true
	// false
}

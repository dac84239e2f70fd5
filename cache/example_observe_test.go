package cache_test

import (
	"context"
	"fmt"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
)

// An Observer sees what each call did: here a memory of one entry in front
// of an archive, printing each event (a real one would feed metrics, as
// the modules metrics/kleptoprom and metrics/kleptootel do).
func ExampleObserverFunc() {
	square := func(_ context.Context, n int) (int, error) { return n * n, nil }
	m, err := cache.Memoize(square, &cache.MemoOptions[int]{
		MaxSize: 1,
		Archive: archive.NewDict[int](),
		Name:    "square",
		Observer: cache.ObserverFunc(func(e cache.Event) {
			fmt.Println(e.Source, e.Name, e.Kind, e.Count)
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, n := range []int{4, 4, 5, 4} {
		if _, err := m.Call(ctx, n); err != nil {
			fmt.Println(err)
			return
		}
	}
	// Output:
	// memo square miss 1
	// memo square hit 1
	// memo square miss 1
	// memo square evict 1
	// memo square load 1
	// memo square evict 1
}

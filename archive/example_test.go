package archive_test

import (
	"context"
	"fmt"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
)

// A Dict archive behind a memo: after Clear empties memory, the result comes
// back from the archive (a load) instead of from the function.
func ExampleNewDict() {
	ctx := context.Background()
	square := func(_ context.Context, n int) (int, error) { return n * n, nil }
	m, err := cache.Memoize(square, &cache.MemoOptions[int]{Archive: archive.NewDict[int]()})
	if err != nil {
		fmt.Println(err)
		return
	}
	m.Call(ctx, 12) // a miss: computed, then written through to the archive
	m.Clear(true)   // forget memory, keep the counts
	v, _ := m.Call(ctx, 12)
	fmt.Printf("%d %+v\n", v, m.Info())
	// Output: 144 {Hits:0 Misses:1 Loads:1 Errors:0 MaxSize:100 Size:1}
}

// Command quickstart memoizes a slow function and shows the second call
// served from the cache.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/klepto-sql/klepto/cache"
)

type args struct {
	N int
}

// slowSquare stands for an expensive computation.
func slowSquare(ctx context.Context, a args) (int, error) {
	select {
	case <-time.After(300 * time.Millisecond):
		return a.N * a.N, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func main() {
	ctx := context.Background()
	m, err := cache.Memoize(slowSquare, &cache.MemoOptions[int]{Policy: cache.PolicyLRU, MaxSize: 100})
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		start := time.Now()
		v, err := m.Call(ctx, args{N: 12})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("slowSquare(N=12) = %d in %v\n", v, time.Since(start).Round(time.Microsecond))
	}
	key, _ := m.Key(args{N: 12})
	fmt.Printf("key %s, %+v\n", key.Text, m.Info())
}

package archive_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

func ExampleOpenFile() {
	dir, err := os.MkdirTemp("", "klepto")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	f, err := archive.OpenFile[[]string](filepath.Join(dir, "memo.klepto"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	if err := f.Put(ctx, keymap.NewKey("(lang='go')"), []string{"gofmt", "vet"}); err != nil {
		fmt.Println(err)
		return
	}
	tools, found, err := f.Get(ctx, keymap.NewKey("(lang='go')"))
	fmt.Println(tools, found, err)
	// Output: [gofmt vet] true <nil>
}

func ExampleOpenDir() {
	dir, err := os.MkdirTemp("", "klepto")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	d, err := archive.OpenDir[int](filepath.Join(dir, "memo"), &archive.DirOptions{Compression: 6})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The keys 5 and '5' get entry files of their own, named from their
	// hashes; klepto's dir_archive stores both in one folder named 5.
	for i, text := range []string{"5", "'5'"} {
		if err := d.Put(ctx, keymap.NewKey(text), i); err != nil {
			fmt.Println(err)
			return
		}
	}
	for e, err := range d.All(ctx) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s = %d\n", e.Key.Text, e.Value)
	}
	// Unordered output:
	// 5 = 0
	// '5' = 1
}

// A memo over a File, across a restart: the second program, simulated here
// by a second OpenFile and Memoize, loads the result instead of computing
// it.
func ExampleFile_restart() {
	dir, err := os.MkdirTemp("", "klepto")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "memo.klepto")

	ctx := context.Background()
	square := func(_ context.Context, n int) (int, error) { return n * n, nil }
	for run := 1; run <= 2; run++ {
		f, err := archive.OpenFile[int](path, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		m, err := cache.Memoize(square, &cache.MemoOptions[int]{Archive: f})
		if err != nil {
			fmt.Println(err)
			return
		}
		v, err := m.Call(ctx, 12)
		if err != nil {
			fmt.Println(err)
			return
		}
		info := m.Info()
		fmt.Printf("run %d: %d (misses %d, loads %d)\n", run, v, info.Misses, info.Loads)
		if err := f.Close(); err != nil {
			fmt.Println(err)
			return
		}
	}
	// Output:
	// run 1: 144 (misses 1, loads 0)
	// run 2: 144 (misses 0, loads 1)
}

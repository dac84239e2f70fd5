package archive_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/archive/archivetest"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

var (
	_ cache.Archive[int]    = (*archive.Dict[int])(nil)
	_ cache.Lister[int]     = (*archive.Dict[int])(nil)
	_ cache.ManyPutter[int] = (*archive.Dict[int])(nil)
	_ cache.Archive[int]    = (*archive.Null[int])(nil)
	_ cache.Lister[int]     = (*archive.Null[int])(nil)
)

type point struct {
	X, Y int
	Tag  string
}

func TestDict(t *testing.T) {
	archivetest.Run(t,
		func(*testing.T) cache.Archive[point] { return archive.NewDict[point]() },
		func(i int) point { return point{X: i, Y: -i, Tag: fmt.Sprint("p", i)} })
}

func TestNull(t *testing.T) {
	ctx := t.Context()
	var a archive.Null[string]
	k := keymap.NewKey("(1)")
	if err := a.Put(ctx, k, "one"); err != nil {
		t.Fatal(err)
	}
	if v, found, err := a.Get(ctx, k); err != nil || found {
		t.Fatalf("Get = %q, %v, %v; want not found", v, found, err)
	}
	if n, err := a.Len(ctx); n != 0 || err != nil {
		t.Fatalf("Len = %d, %v; want 0", n, err)
	}
	for e := range a.All(ctx) {
		t.Fatalf("All yielded %v", e)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := a.Put(canceled, k, "one"); err == nil {
		t.Fatal("Put with a canceled context succeeded")
	}
}

// A memo over the Null archive never loads: Null lets code that expects an
// archive run without keeping anything.
func TestNullMemo(t *testing.T) {
	calls := 0
	m, err := cache.Memoize(func(_ context.Context, n int) (int, error) { calls++; return n * n, nil },
		&cache.MemoOptions[int]{Policy: cache.PolicyNo, Archive: archive.NewNull[int]()})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if v, err := m.Call(t.Context(), 4); err != nil || v != 16 {
			t.Fatalf("Call(4) = %d, %v", v, err)
		}
	}
	if info := m.Info(); info.Misses != 3 || info.Loads != 0 || info.Hits != 0 || calls != 3 {
		t.Fatalf("Info() = %+v after %d calls, want 3 misses", info, calls)
	}
}

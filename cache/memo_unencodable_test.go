package cache_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
)

var (
	_ cache.ValueChecker[float64] = (*archive.File[float64])(nil)
	_ cache.ValueChecker[float64] = (*archive.Dir[float64])(nil)
)

// unencodable returns NaN for 0, +Inf for 1, -Inf for 2, and n/2 otherwise.
func unencodable(_ context.Context, n int) (float64, error) {
	switch n {
	case 0:
		return math.NaN(), nil
	case 1:
		return math.Inf(1), nil
	case 2:
		return math.Inf(-1), nil
	}
	return float64(n) / 2, nil
}

// CheckUnencodable checks that m, over archive a whose codec is JSON,
// treats results JSON cannot encode the same way on every call: returned
// with an error matching codec.ErrEncode (counted instead when m is Safe),
// kept neither in memory nor in a, and computed again by the next call;
// and that it keeps the other results as usual.
func checkUnencodable(t *testing.T, m *cache.Memo[int, float64], a cache.Archive[float64], safe bool) {
	t.Helper()
	ctx := t.Context()
	for n := range 3 {
		for call := range 3 {
			v, err := m.Call(ctx, n)
			want, _ := unencodable(ctx, n)
			if !math.IsNaN(want) && v != want || math.IsNaN(want) && !math.IsNaN(v) {
				t.Fatalf("call %d of %d returned %v, want %v", call, n, v, want)
			}
			if safe && err != nil || !safe && !errors.Is(err, codec.ErrEncode) {
				t.Fatalf("call %d of %d: %v; want an error matching codec.ErrEncode (none when Safe)", call, n, err)
			}
		}
		if _, ok, _ := m.Lookup(n); ok {
			t.Fatalf("the result of %d is in memory", n)
		}
		k, _ := m.Key(n)
		if _, found, err := a.Get(ctx, k); found || err != nil {
			t.Fatalf("archive Get of %d = %v, %v; want a miss", n, found, err)
		}
	}
	info := m.Info()
	if info.Misses != 9 || info.Hits != 0 {
		t.Fatalf("Info() = %+v; want 9 misses, no hit: every call ran the function", info)
	}
	if safe && info.Errors != 9 {
		t.Fatalf("Info().Errors = %d, want 9", info.Errors)
	}
	for range 2 {
		if v, err := m.Call(ctx, 3); v != 1.5 || err != nil {
			t.Fatalf("Call(3) = %v, %v; want 1.5", v, err)
		}
	}
	if info := m.Info(); info.Hits != 1 {
		t.Fatalf("Info() = %+v, want the second call of 3 to hit", info)
	}
}

// File and Dir archives with the JSON codec, written through or back.
func TestUnencodableResults(t *testing.T) {
	archives := map[string]func(t *testing.T) cache.Archive[float64]{
		"file": func(t *testing.T) cache.Archive[float64] {
			f, err := archive.OpenFile[float64](filepath.Join(t.TempDir(), "memo.klepto"), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		},
		"dir": func(t *testing.T) cache.Archive[float64] {
			d, err := archive.OpenDir[float64](filepath.Join(t.TempDir(), "memo"), nil)
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
	}
	for name, open := range archives {
		for _, mode := range []struct {
			name            string
			writeBack, safe bool
		}{{"write-through", false, false}, {"write-back", true, false}, {"safe write-through", false, true}, {"safe write-back", true, true}} {
			t.Run(name+"/"+mode.name, func(t *testing.T) {
				a := open(t)
				m, err := cache.Memoize(unencodable, &cache.MemoOptions[float64]{Archive: a, WriteBack: mode.writeBack, Safe: mode.safe})
				if err != nil {
					t.Fatal(err)
				}
				checkUnencodable(t, m, a, mode.safe)
			})
		}
	}
}

package main

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/klepto-sql/klepto/cache"
)

// The quick start's promise: the first run computes once and serves the
// second call from memory; a second run is served from the database.
func TestQuickstart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klepto.db")
	first, err := run(t.Context(), path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := (cache.Info{Hits: 1, Misses: 1, MaxSize: cache.DefaultMaxSize, Size: 1}); first != want {
		t.Fatalf("first run: %+v, want %+v", first, want)
	}
	second, err := run(t.Context(), path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := (cache.Info{Hits: 1, Loads: 1, MaxSize: cache.DefaultMaxSize, Size: 1}); second != want {
		t.Fatalf("second run: %+v, want %+v", second, want)
	}
}

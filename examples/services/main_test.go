package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Two services at once compute each price once between them; what one
// forgets, the other computes again on its second pass.
func TestServices(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "services.db")
	var outA, outB bytes.Buffer
	var computedA, computedB int64
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() {
		computedA, errA = run(t.Context(), config{db: db, name: "A", keys: 5, linger: time.Second, cost: 50 * time.Millisecond}, &outA)
	})
	time.Sleep(20 * time.Millisecond)
	wg.Go(func() {
		computedB, errB = run(t.Context(), config{db: db, name: "B", keys: 5, forget: 3, cost: 50 * time.Millisecond}, &outB)
	})
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("A: %v, B: %v\n%s\n%s", errA, errB, &outA, &outB)
	}
	// Five prices, and product 3 once more after B forgot it.
	if computedA+computedB != 6 {
		t.Fatalf("computed %d + %d prices, want 6 in all\n%s\n%s", computedA, computedB, &outA, &outB)
	}
	second := outA.String()[strings.LastIndex(outA.String(), "product 1 costs"):]
	if !strings.Contains(second, "product 3 costs 29.97: computed here") || strings.Count(second, "from memory") != 4 {
		t.Fatalf("A's second pass:\n%s", second)
	}
}

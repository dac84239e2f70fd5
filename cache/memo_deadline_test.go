package cache_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// hung is a Dict archive whose writes of the keys in hang block until
// their context ends, as over a network that stopped answering.
type hung struct {
	*archive.Dict[int]
	mu   sync.Mutex
	hang map[string]bool // key texts; "" hangs every key
}

func newHung() *hung { return &hung{Dict: archive.NewDict[int](), hang: map[string]bool{}} }

func (h *hung) set(texts ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.hang)
	for _, s := range texts {
		h.hang[s] = true
	}
}

func (h *hung) hangs(text string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hang[""] || h.hang[text]
}

func (h *hung) Put(ctx context.Context, k keymap.Key, v int) error {
	if h.hangs(k.Text) {
		<-ctx.Done()
		return ctx.Err()
	}
	return h.Dict.Put(ctx, k, v)
}

func (h *hung) PutMany(ctx context.Context, es []cache.Entry[int]) error {
	for _, e := range es {
		if h.hangs(e.Key.Text) {
			<-ctx.Done()
			return ctx.Err()
		}
	}
	return h.Dict.PutMany(ctx, es)
}

// A write-back of an evicted entry ends with the call's deadline, however
// long the archive hangs; the entry stays in memory, the error names it,
// and it reaches the archive once the archive answers again.
func TestWriteBackEvictionDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newHung()
		m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 2, Archive: a, WriteBack: true})
		callAll(t, m, 1, 2)
		a.set("")
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		v, err := m.Call(ctx, 3)
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Fatalf("Call with a 200ms deadline returned after %v", elapsed)
		}
		if !errors.Is(err, context.DeadlineExceeded) || v != 9 {
			t.Fatalf("Call(3) = %d, %v; want the result and the deadline's error", v, err)
		}
		k1, _ := m.Key(1)
		if !strings.Contains(err.Error(), `key "`+k1.Text+`" kept in memory, not written`) {
			t.Fatalf("Call(3): %v; want it to name the key of 1", err)
		}
		if got := inMemory(t, m); !slices.Equal(got, []int{1, 2}) {
			t.Fatalf("in memory %v, want [1 2]: the unwritten entry kept", got)
		}
		a.set()
		callAll(t, m, 3)
		if err := m.Dump(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := inArchive(t, m, a.Dict); !slices.Equal(got, []int{1, 2, 3}) {
			t.Fatalf("in archive %v, want [1 2 3]", got)
		}
	})
}

// Purge in write-back mode ends with the call's deadline too, and memory
// keeps every entry it could not write.
func TestWriteBackPurgeDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newHung()
		m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 2, Archive: a, WriteBack: true, Purge: true})
		callAll(t, m, 1, 2)
		a.set("")
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		v, err := m.Call(ctx, 3)
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Fatalf("Call with a 200ms deadline returned after %v", elapsed)
		}
		if !errors.Is(err, context.DeadlineExceeded) || v != 9 {
			t.Fatalf("Call(3) = %d, %v; want the result and the deadline's error", v, err)
		}
		if !strings.Contains(err.Error(), "2 entries kept in memory, not written") {
			t.Fatalf("Call(3): %v; want it to say what was kept", err)
		}
		if got := inMemory(t, m); !slices.Equal(got, []int{1, 2}) {
			t.Fatalf("in memory %v, want [1 2]", got)
		}
		a.set()
		callAll(t, m, 3)
		if got := inArchive(t, m, a.Dict); !slices.Equal(got, []int{1, 2, 3}) {
			t.Fatalf("in archive %v, want [1 2 3], the purged memory", got)
		}
	})
}

// When other calls fill memory while a write-back hangs, putting the
// unwritten entry back pushes out another unwritten one: the error names
// it, rather than losing it silently.
func TestWriteBackDeadlineNamesDroppedKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newHung()
		m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 2, Archive: a, WriteBack: true})
		callAll(t, m, 1, 2)
		k1, _ := m.Key(1)
		a.set(k1.Text)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			_, err := m.Call(ctx, 3) // evicts 1, whose write hangs
			errc <- err
		}()
		synctest.Wait()
		callAll(t, m, 4, 5) // evict 2 and 3, written; memory holds 5 and 4
		err := <-errc
		k4, _ := m.Key(4)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `key "`+k4.Text+`" was dropped from memory unwritten`) {
			t.Fatalf("Call(3): %v; want the deadline's error naming the key of 4", err)
		}
		if got := inMemory(t, m); !slices.Equal(got, []int{1, 5}) {
			t.Fatalf("in memory %v, want [1 5]", got)
		}
	})
}

// A Safe memo counts a failed purge instead of returning it, and keeps
// memory as it was all the same.
func TestSafePurgeFailureKeepsMemory(t *testing.T) {
	a := &flaky{Dict: archive.NewDict[int](), putErr: errors.New("disk full")}
	m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 2, Archive: a, WriteBack: true, Purge: true, Safe: true})
	callAll(t, m, 1, 2, 3)
	if got := inMemory(t, m); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("in memory %v, want [1 2]", got)
	}
	if got := m.Info().Errors; got != 1 {
		t.Fatalf("Info().Errors = %d, want 1 failed purge", got)
	}
}

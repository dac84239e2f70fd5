// Package archivetest is the conformance suite that every klepto-sql archive
// passes: the dict archive here, the file and directory archives, and the
// SQL tables on every database. It is to archives what testing/fstest is to
// file systems.
//
// An archive's own tests call [Run] with a function that opens a fresh,
// empty archive and a function that makes distinct values.
package archivetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// Opener returns a new, empty archive for one subtest. It registers any
// cleanup with t.Cleanup.
type Opener[V any] func(t *testing.T) cache.Archive[V]

// Run checks that the archives made by open behave as [cache.Archive]
// documents, and checks the optional methods (All, Len, Clear, PutMany) of
// those that have them. value(i) must return a value for every i >= 0,
// different for different i; values are compared with reflect.DeepEqual
// after a round trip.
func Run[V any](t *testing.T, open Opener[V], value func(i int) V) {
	t.Helper()
	s := suite[V]{open: open, value: value}
	t.Run("GetMissing", s.getMissing)
	t.Run("PutGet", s.putGet)
	t.Run("Overwrite", s.overwrite)
	t.Run("Delete", s.delete)
	t.Run("AwkwardKeys", s.awkwardKeys)
	t.Run("ManyKeys", s.manyKeys)
	t.Run("CanceledContext", s.canceled)
	t.Run("Concurrent", s.concurrent)
	t.Run("All", s.all)
	t.Run("LenClear", s.lenClear)
	t.Run("PutMany", s.putMany)
	t.Run("Memo", s.memo)
}

type suite[V any] struct {
	open  Opener[V]
	value func(int) V
}

// Optional methods, discovered by type assertion.
type (
	lener interface {
		Len(context.Context) (int, error)
	}
	clearer interface{ Clear(context.Context) error }
)

func key(i int) keymap.Key { return keymap.NewKey(fmt.Sprintf("(n=%d)", i)) }

func (s suite[V]) mustGet(t *testing.T, a cache.Archive[V], k keymap.Key, want V) {
	t.Helper()
	got, found, err := a.Get(t.Context(), k)
	if err != nil {
		t.Fatalf("Get(%.40q): %v", k.Text, err)
	}
	if !found {
		t.Fatalf("Get(%.40q): not found, want %v", k.Text, want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Get(%.40q) = %#v, want %#v", k.Text, got, want)
	}
}

func (s suite[V]) mustMiss(t *testing.T, a cache.Archive[V], k keymap.Key) {
	t.Helper()
	got, found, err := a.Get(t.Context(), k)
	if err != nil {
		t.Fatalf("Get(%.40q): %v", k.Text, err)
	}
	if found {
		t.Fatalf("Get(%.40q) = %#v, want not found", k.Text, got)
	}
}

func (s suite[V]) mustPut(t *testing.T, a cache.Archive[V], k keymap.Key, v V) {
	t.Helper()
	if err := a.Put(t.Context(), k, v); err != nil {
		t.Fatalf("Put(%.40q): %v", k.Text, err)
	}
}

func (s suite[V]) getMissing(t *testing.T) {
	a := s.open(t)
	s.mustMiss(t, a, key(1))
}

func (s suite[V]) putGet(t *testing.T) {
	a := s.open(t)
	s.mustPut(t, a, key(1), s.value(1))
	s.mustGet(t, a, key(1), s.value(1))
	s.mustMiss(t, a, key(2))
}

func (s suite[V]) overwrite(t *testing.T) {
	a := s.open(t)
	s.mustPut(t, a, key(1), s.value(1))
	s.mustPut(t, a, key(1), s.value(2))
	s.mustGet(t, a, key(1), s.value(2))
	if l, ok := a.(lener); ok {
		if n, err := l.Len(t.Context()); err != nil || n != 1 {
			t.Fatalf("Len after overwrite = %d, %v; want 1", n, err)
		}
	}
}

func (s suite[V]) delete(t *testing.T) {
	a := s.open(t)
	s.mustPut(t, a, key(1), s.value(1))
	s.mustPut(t, a, key(2), s.value(2))
	if err := a.Delete(t.Context(), key(1)); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	s.mustMiss(t, a, key(1))
	s.mustGet(t, a, key(2), s.value(2))
	if err := a.Delete(t.Context(), key(1)); err != nil {
		t.Fatalf("Delete of a missing key: %v, want nil", err)
	}
}

// awkwardKeys stores keys that break naive archives: empty, NUL bytes,
// invalid UTF-8, SQL metacharacters, path separators, and one of 1 MiB.
func (s suite[V]) awkwardKeys(t *testing.T) {
	a := s.open(t)
	texts := []string{
		"",
		"\x00",
		"a\x00b",
		"\xff\xfe\xfd",
		"キー🔑",
		`'; DROP TABLE memo; --`,
		`"quoted" \ back\slash`,
		"../../etc/passwd",
		"C:\\con\\aux.txt",
		"5",
		strings.Repeat("k", 1<<20),
	}
	for i, text := range texts {
		s.mustPut(t, a, keymap.NewKey(text), s.value(i))
	}
	for i, text := range texts {
		s.mustGet(t, a, keymap.NewKey(text), s.value(i))
	}
}

func (s suite[V]) manyKeys(t *testing.T) {
	a := s.open(t)
	const n = 300
	for i := range n {
		s.mustPut(t, a, key(i), s.value(i))
	}
	for i := range n {
		s.mustGet(t, a, key(i), s.value(i))
	}
	s.mustMiss(t, a, key(n))
}

func (s suite[V]) canceled(t *testing.T) {
	a := s.open(t)
	s.mustPut(t, a, key(1), s.value(1))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := a.Get(ctx, key(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled context: %v, want context.Canceled", err)
	}
	if err := a.Put(ctx, key(1), s.value(2)); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a canceled context: %v, want context.Canceled", err)
	}
	if err := a.Delete(ctx, key(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with a canceled context: %v, want context.Canceled", err)
	}
	s.mustGet(t, a, key(1), s.value(1)) // nothing changed
}

func (s suite[V]) concurrent(t *testing.T) {
	a := s.open(t)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				n := w*each + i
				if err := a.Put(t.Context(), key(n), s.value(n)); err != nil {
					errs <- fmt.Errorf("put %d: %w", n, err)
					return
				}
				// Everyone also writes one shared key, and reads another's.
				if err := a.Put(t.Context(), key(-1), s.value(0)); err != nil {
					errs <- fmt.Errorf("put shared: %w", err)
					return
				}
				if _, _, err := a.Get(t.Context(), key((n+7)%(workers*each))); err != nil {
					errs <- fmt.Errorf("get: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for n := range workers * each {
		s.mustGet(t, a, key(n), s.value(n))
	}
	s.mustGet(t, a, key(-1), s.value(0))
}

func (s suite[V]) all(t *testing.T) {
	a := s.open(t)
	l, ok := a.(cache.Lister[V])
	if !ok {
		t.Skipf("%T has no All method", a)
	}
	const n = 50
	for i := range n {
		s.mustPut(t, a, key(i), s.value(i))
	}
	seen := make(map[string]bool)
	for e, err := range l.All(t.Context()) {
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		if seen[e.Key.Text] {
			t.Fatalf("All yielded %q twice", e.Key.Text)
		}
		seen[e.Key.Text] = true
		var i int
		if _, err := fmt.Sscanf(e.Key.Text, "(n=%d)", &i); err != nil {
			t.Fatalf("All yielded unknown key %q", e.Key.Text)
		}
		if e.Key != key(i) {
			t.Fatalf("All yielded key %q with hash %x, want %x", e.Key.Text, e.Key.Hash, key(i).Hash)
		}
		if !reflect.DeepEqual(e.Value, s.value(i)) {
			t.Fatalf("All yielded %q = %#v, want %#v", e.Key.Text, e.Value, s.value(i))
		}
	}
	if len(seen) != n {
		t.Fatalf("All yielded %d entries, want %d", len(seen), n)
	}
	count := 0
	for range l.All(t.Context()) {
		count++
		if count == 3 {
			break // stopping early must be safe
		}
	}
	s.mustGet(t, a, key(0), s.value(0))
}

func (s suite[V]) lenClear(t *testing.T) {
	a := s.open(t)
	l, hasLen := a.(lener)
	c, hasClear := a.(clearer)
	if !hasLen && !hasClear {
		t.Skipf("%T has neither Len nor Clear", a)
	}
	for i := range 10 {
		s.mustPut(t, a, key(i), s.value(i))
	}
	if hasLen {
		if n, err := l.Len(t.Context()); err != nil || n != 10 {
			t.Fatalf("Len = %d, %v; want 10", n, err)
		}
	}
	if hasClear {
		if err := c.Clear(t.Context()); err != nil {
			t.Fatalf("Clear: %v", err)
		}
		s.mustMiss(t, a, key(3))
		if hasLen {
			if n, err := l.Len(t.Context()); err != nil || n != 0 {
				t.Fatalf("Len after Clear = %d, %v; want 0", n, err)
			}
		}
	}
}

func (s suite[V]) putMany(t *testing.T) {
	a := s.open(t)
	mp, ok := a.(cache.ManyPutter[V])
	if !ok {
		t.Skipf("%T has no PutMany method", a)
	}
	s.mustPut(t, a, key(0), s.value(100))
	var batch []cache.Entry[V]
	for i := range 1200 {
		batch = append(batch, cache.Entry[V]{Key: key(i), Value: s.value(i)})
	}
	// A key twice in one batch: the later value wins.
	batch = append(batch, cache.Entry[V]{Key: key(5), Value: s.value(5005)})
	if err := mp.PutMany(t.Context(), batch); err != nil {
		t.Fatalf("PutMany: %v", err)
	}
	for i := range 1200 {
		want := s.value(i)
		if i == 5 {
			want = s.value(5005)
		}
		s.mustGet(t, a, key(i), want)
	}
	if err := mp.PutMany(t.Context(), nil); err != nil {
		t.Fatalf("PutMany(nil): %v", err)
	}
}

// memo checks the promise an archive exists for: a second memo, as after a
// restart, is served from the archive the first one filled.
func (s suite[V]) memo(t *testing.T) {
	a := s.open(t)
	calls := 0
	fn := func(_ context.Context, n int) (V, error) {
		calls++
		return s.value(n), nil
	}
	for round := range 2 {
		m, err := cache.Memoize(fn, &cache.MemoOptions[V]{Archive: a})
		if err != nil {
			t.Fatal(err)
		}
		for n := range 5 {
			got, err := m.Call(t.Context(), n)
			if err != nil {
				t.Fatalf("round %d: Call(%d): %v", round, n, err)
			}
			if !reflect.DeepEqual(got, s.value(n)) {
				t.Fatalf("round %d: Call(%d) = %#v, want %#v", round, n, got, s.value(n))
			}
		}
		info := m.Info()
		want := cache.Info{Misses: 5, MaxSize: cache.DefaultMaxSize, Size: 5}
		if round == 1 {
			want = cache.Info{Loads: 5, MaxSize: cache.DefaultMaxSize, Size: 5}
		}
		if info != want {
			t.Fatalf("round %d: Info() = %+v, want %+v", round, info, want)
		}
	}
	if calls != 5 {
		t.Fatalf("function ran %d times, want 5", calls)
	}
}

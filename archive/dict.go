package archive

import (
	"context"
	"fmt"
	"iter"
	"sync"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// Dict is an archive in memory: klepto's dict_archive. It keeps values as
// they are given (it does not copy them), and forgets everything with the
// process. It is safe for concurrent use.
type Dict[V any] struct {
	mu sync.RWMutex // guards m
	m  map[[32]byte]cache.Entry[V]
}

// NewDict returns an empty Dict.
func NewDict[V any]() *Dict[V] {
	return &Dict[V]{m: make(map[[32]byte]cache.Entry[V])}
}

// Get returns the value stored under key.
func (d *Dict[V]) Get(ctx context.Context, key keymap.Key) (V, bool, error) {
	if err := ctx.Err(); err != nil {
		var zero V
		return zero, false, keyError("get", key, err)
	}
	d.mu.RLock()
	e, ok := d.m[key.Hash]
	d.mu.RUnlock()
	return e.Value, ok, nil
}

// Put stores value under key, replacing any value there.
func (d *Dict[V]) Put(ctx context.Context, key keymap.Key, value V) error {
	if err := ctx.Err(); err != nil {
		return keyError("put", key, err)
	}
	d.mu.Lock()
	d.m[key.Hash] = cache.Entry[V]{Key: key, Value: value}
	d.mu.Unlock()
	return nil
}

// PutMany stores every entry; a later entry wins over an earlier one with
// the same key.
func (d *Dict[V]) PutMany(ctx context.Context, entries []cache.Entry[V]) error {
	if err := ctx.Err(); err != nil {
		return opError(fmt.Sprintf("put %d entries", len(entries)), err)
	}
	d.mu.Lock()
	for _, e := range entries {
		d.m[e.Key.Hash] = e
	}
	d.mu.Unlock()
	return nil
}

// Delete removes key. Deleting a missing key is not an error.
func (d *Dict[V]) Delete(ctx context.Context, key keymap.Key) error {
	if err := ctx.Err(); err != nil {
		return keyError("delete", key, err)
	}
	d.mu.Lock()
	delete(d.m, key.Hash)
	d.mu.Unlock()
	return nil
}

// Len returns the number of entries.
func (d *Dict[V]) Len(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, opError("len", err)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.m), nil
}

// Clear removes every entry.
func (d *Dict[V]) Clear(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return opError("clear", err)
	}
	d.mu.Lock()
	clear(d.m)
	d.mu.Unlock()
	return nil
}

// All yields a snapshot of the entries taken when iteration starts, in no
// particular order.
func (d *Dict[V]) All(ctx context.Context) iter.Seq2[cache.Entry[V], error] {
	return func(yield func(cache.Entry[V], error) bool) {
		if err := ctx.Err(); err != nil {
			yield(cache.Entry[V]{}, opError("all", err))
			return
		}
		d.mu.RLock()
		snap := make([]cache.Entry[V], 0, len(d.m))
		for _, e := range d.m {
			snap = append(snap, e)
		}
		d.mu.RUnlock()
		for _, e := range snap {
			if !yield(e, nil) {
				return
			}
		}
	}
}

package archive

import (
	"context"
	"fmt"
	"iter"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// Null is an archive that stores nothing: klepto's null_archive. Put
// discards its value and Get never finds one. It lets code that expects an
// archive run without one. Its zero value is ready to use and it is safe for
// concurrent use.
type Null[V any] struct{}

// NewNull returns a Null archive.
func NewNull[V any]() *Null[V] { return &Null[V]{} }

// Get reports that key is not found.
func (*Null[V]) Get(ctx context.Context, key keymap.Key) (V, bool, error) {
	var zero V
	if err := ctx.Err(); err != nil {
		return zero, false, keyError("get", key, err)
	}
	return zero, false, nil
}

// Put discards value.
func (*Null[V]) Put(ctx context.Context, key keymap.Key, _ V) error {
	if err := ctx.Err(); err != nil {
		return keyError("put", key, err)
	}
	return nil
}

// PutMany discards entries.
func (*Null[V]) PutMany(ctx context.Context, entries []cache.Entry[V]) error {
	if err := ctx.Err(); err != nil {
		return opError(fmt.Sprintf("put %d entries", len(entries)), err)
	}
	return nil
}

// Delete does nothing.
func (*Null[V]) Delete(ctx context.Context, key keymap.Key) error {
	if err := ctx.Err(); err != nil {
		return keyError("delete", key, err)
	}
	return nil
}

// Len returns 0.
func (*Null[V]) Len(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, opError("len", err)
	}
	return 0, nil
}

// Clear does nothing.
func (*Null[V]) Clear(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return opError("clear", err)
	}
	return nil
}

// All yields nothing.
func (*Null[V]) All(ctx context.Context) iter.Seq2[cache.Entry[V], error] {
	return func(yield func(cache.Entry[V], error) bool) {
		if err := ctx.Err(); err != nil {
			yield(cache.Entry[V]{}, opError("all", err))
		}
	}
}

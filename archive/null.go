package archive

import (
	"context"
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
func (*Null[V]) Get(ctx context.Context, _ keymap.Key) (V, bool, error) {
	var zero V
	return zero, false, ctx.Err()
}

// Put discards value.
func (*Null[V]) Put(ctx context.Context, _ keymap.Key, _ V) error { return ctx.Err() }

// PutMany discards entries.
func (*Null[V]) PutMany(ctx context.Context, _ []cache.Entry[V]) error { return ctx.Err() }

// Delete does nothing.
func (*Null[V]) Delete(ctx context.Context, _ keymap.Key) error { return ctx.Err() }

// Len returns 0.
func (*Null[V]) Len(ctx context.Context) (int, error) { return 0, ctx.Err() }

// Clear does nothing.
func (*Null[V]) Clear(ctx context.Context) error { return ctx.Err() }

// All yields nothing.
func (*Null[V]) All(ctx context.Context) iter.Seq2[cache.Entry[V], error] {
	return func(yield func(cache.Entry[V], error) bool) {
		if err := ctx.Err(); err != nil {
			yield(cache.Entry[V]{}, err)
		}
	}
}

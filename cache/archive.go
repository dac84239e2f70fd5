package cache

import (
	"context"
	"iter"

	"github.com/klepto-sql/klepto/keymap"
)

// Archive is the persistent store behind a [Memo]: the small contract every
// archive satisfies (dict, null, file, dir, and the SQL tables).
//
// Get reports a missing key as found == false with a nil error; an error
// means the archive could not answer. Delete of a missing key is not an
// error. Implementations must be safe for concurrent use.
type Archive[V any] interface {
	Get(ctx context.Context, key keymap.Key) (value V, found bool, err error)
	Put(ctx context.Context, key keymap.Key, value V) error
	Delete(ctx context.Context, key keymap.Key) error
}

// Entry is one key and its value.
type Entry[V any] struct {
	Key   keymap.Key
	Value V
}

// ArgsPutter is implemented by archives that keep each call's arguments
// beside its result, such as the SQL tables, which store them as JSON so
// that people can query them. A write-through [Memo] calls PutArgs instead
// of Put when its archive has it; entries written back on eviction or by
// Dump carry no arguments.
type ArgsPutter[V any] interface {
	PutArgs(ctx context.Context, key keymap.Key, args any, value V) error
}

// Lister is implemented by archives that can list their entries. [Memo.Load]
// with no keys needs it. The iterator stops at the first error, which it
// yields with a zero Entry.
type Lister[V any] interface {
	All(ctx context.Context) iter.Seq2[Entry[V], error]
}

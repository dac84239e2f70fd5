package cache

import (
	"context"
	"iter"
	"time"

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
	// ExpiresAt is when the entry expires in its archive, the zero time for
	// never. Archives whose entries expire set it in the entries they list
	// (see [Expirer]); PutMany ignores it.
	ExpiresAt time.Time
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

// Expirer is implemented by archives whose entries expire, such as the SQL
// tables with a TTL. A [Memo] over one keeps no entry in memory longer than
// the archive keeps it: an entry read from the archive expires in memory
// when it expires there, and a new result TTL after the memo computed it.
type Expirer[V any] interface {
	// GetExpiry is Get that also returns when the entry expires, the zero
	// time for never.
	GetExpiry(ctx context.Context, key keymap.Key) (value V, expiresAt time.Time, found bool, err error)
	// TTL returns how long an entry the archive stores now lives, zero for
	// ever.
	TTL() time.Duration
}

// Leaser is implemented by archives that several processes share, such as
// the tables of package sqlarchive, so that of the processes that miss one
// key at the same time only one runs the function while the others wait
// for its result. A [Memo] calls Lease after a key missed in memory and in
// the archive, just before it would call the function, and at most once
// per key at a time in a process (its other callers of the key wait in
// memory).
//
// Lease returns when the caller should go on: holding the key's lease
// ([Lease.Release] is set), or with the value another process stored
// meanwhile ([Lease.Found]), or with neither, when waiting took too long
// and the caller computes without a lease. An error means the archive could
// not decide; the Memo returns it (a Safe memo counts it and computes).
type Leaser[V any] interface {
	Lease(ctx context.Context, key keymap.Key) (Lease[V], error)
}

// Lease is the outcome of [Leaser.Lease].
type Lease[V any] struct {
	// Release, when not nil, means the caller holds the lease and computes
	// the value. The Memo calls it once, after the result is stored in the
	// archive, or when the function failed or panicked; it must not block
	// for long.
	Release func()
	// Found reports that another process stored the value while the caller
	// waited: Entry holds it, and the function is not called.
	Found bool
	Entry Entry[V]
}

// ValueChecker is implemented by archives that cannot store every value of
// their type, such as those that encode values as JSON, which has no NaN
// and no infinities (see package codec). A write-back [Memo] calls
// CheckValue on each new result before it keeps it in memory, and keeps
// out, as a write-through memo does, a result that its archive could never
// store. CheckValue must not block: it encodes, and writes nothing.
type ValueChecker[V any] interface {
	CheckValue(value V) error
}

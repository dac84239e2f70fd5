package sqlarchive

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// MemoizeOptions configure [Memoize]. The zero value memoizes into the
// archive named after the function, with the defaults of cache.MemoOptions
// (an LRU of cache.DefaultMaxSize entries in memory, the string keymap,
// write-through) and of TableOptions.
type MemoizeOptions[R any] struct {
	// Version is the version of the function, "" for none. Each version
	// has an archive, and a table, of its own: name "fib" with version "v2"
	// is the archive "fib@v2" in the table fib__v2 (see TableName), so
	// results of an older version are never served for a newer one. Old
	// versions stay until they are dropped (Archive.Drop).
	Version string

	// Memo configures the memo. Its Archive must be nil: Memoize sets it
	// to the archive's table. Its Keymap, by default keymap.NewString(nil),
	// is recorded in the catalog when the archive is created, and must match
	// the catalog's when it exists.
	Memo cache.MemoOptions[R]

	// Table configures the archive's table. Its Keymap must be nil, or
	// describe the same keymap as Memo.Keymap. Its ArgsOptions default to
	// the arguments Memo.Keymap ignores, so that the args column leaves
	// them out too.
	Table TableOptions
}

// Memoize memoizes fn into the archive called name, or name@version with
// opts.Version (see [TableName]): it opens the archive's table with [Table],
// creating the archive if needed, and returns cache.Memoize of fn with the
// table as the memo's archive. Results computed by another process, or
// before a restart, are served from the table (counted as loads in
// cache.Info), and new results reach the table before Call returns, unless
// opts.Memo.WriteBack is set. opts may be nil.
//
// The memo's keymap must be the one the catalog records for the archive:
// keys made by another keymap would never be found, so Memoize returns a
// *MismatchError instead. Memoize also returns the errors of Table and of
// cache.Memoize.
//
// The table is closed by Archive.Close and Archive.Drop, after which the
// memo can no longer reach it.
func Memoize[A, R any](ctx context.Context, a *Archive, name string, fn func(context.Context, A) (R, error), opts *MemoizeOptions[R]) (*cache.Memo[A, R], error) {
	var o MemoizeOptions[R]
	if opts != nil {
		o = *opts
	}
	if fn == nil {
		return nil, fmt.Errorf("sqlarchive: memoize %q: nil function", name)
	}
	if o.Memo.Archive != nil {
		return nil, fmt.Errorf("sqlarchive: memoize %q: MemoizeOptions.Memo.Archive must be nil: the archive is the table", name)
	}
	if o.Version != "" {
		if strings.Contains(name, versionSeparator) {
			return nil, fmt.Errorf("%w %q: it has a version, and MemoizeOptions.Version is %q", ErrInvalidName, name, o.Version)
		}
		name += versionSeparator + o.Version
	}
	km := o.Memo.Keymap
	if km == nil {
		var err error
		if km, err = keymap.NewString(nil); err != nil {
			return nil, fmt.Errorf("sqlarchive: memoize %q: %w", name, err)
		}
		o.Memo.Keymap = km
	}
	if o.Table.Keymap != nil && o.Table.Keymap.String() != km.String() {
		return nil, fmt.Errorf("sqlarchive: memoize %q: MemoizeOptions.Table.Keymap %q differs from Memo.Keymap %q",
			name, o.Table.Keymap.String(), km.String())
	}
	o.Table.Keymap = km
	if o.Table.ArgsOptions == nil {
		names, positions := km.Ignored()
		o.Table.ArgsOptions = &keymap.Options{Ignore: names, IgnorePositions: positions}
	}
	t, err := Table[R](ctx, a, name, &o.Table)
	if err != nil {
		return nil, err
	}
	o.Memo.Archive = t
	m, err := cache.Memoize(fn, &o.Memo)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlarchive: memoize %q: %w", name, err), t.Close())
	}
	return m, nil
}

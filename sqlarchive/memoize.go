package sqlarchive

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"weak"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/internal/errmark"
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

	// NoFollow keeps the memo's memory to itself: by default the memo
	// follows the change feed (see [Archive.FollowInfo]), and drops from
	// memory what other processes overwrite, delete, clear or drop.
	NoFollow bool

	// NoLease lets every process compute the keys it misses: by default,
	// of the processes that miss one key at the same time, one computes it
	// under a lease and the others wait for its result.
	NoLease bool

	// LeaseTTL is how long a lease lasts unless renewed; the process that
	// holds it renews it while its function runs. A process that dies while
	// computing holds the others up this long at most. Zero means
	// DefaultLeaseTTL (5 s); it must be at least 100 ms.
	LeaseTTL time.Duration

	// LeaseWait is how long a process waits for another one's result
	// before computing it itself. Zero means DefaultLeaseWait (30 s).
	LeaseWait time.Duration
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
// *MismatchError instead. Likewise, the Go types of the function's result
// and argument must be those the catalog records (TableInfo.ResultType and
// ArgsType): results stored by a function of another result type would fail
// to decode at every call, so Memoize returns an error wrapping
// [ErrTypeChanged] instead, which says to bump the version. Memoize records
// the types in a catalog row that has none: that of an archive it creates,
// or one made by Table, CreateLike, the command or an earlier release,
// and again when a call creates the archive anew after a drop.
// Memoize also returns the errors of Table and of
// cache.Memoize.
//
// # Sharing between processes
//
// Any number of processes may memoize one function into one archive. Unless
// opts.NoFollow is set, the memo follows the change feed of the database
// (see [Archive.Watch]): when another process, or the command-line tool,
// overwrites, deletes, clears, purges, imports into or drops the archive,
// the memo drops the entries concerned from memory within
// Options.PollInterval (sooner with a Listener on PostgreSQL). After a drop,
// the next call creates the archive again. Entries expire in memory with
// their rows (TableOptions.TTL). Unless opts.NoLease is set, of the
// processes that miss a key at the same time, one computes it under a lease
// while the others wait for its result (see LeaseTTL and LeaseWait); a
// function error releases the lease and is not cached.
//
// The memo's archive, which Memo.Archive returns, is the archive's table
// behind a layer that opens it again after a drop; the table is closed by
// Archive.Close and Archive.Drop.
func Memoize[A, R any](ctx context.Context, a *Archive, name string, fn func(context.Context, A) (R, error), opts *MemoizeOptions[R]) (*cache.Memo[A, R], error) {
	var o MemoizeOptions[R]
	if opts != nil {
		o = *opts
	}
	if fn == nil {
		return nil, errmark.Errorf(ErrInvalidOptions, "sqlarchive: memoize %q: nil function", name)
	}
	switch {
	case o.LeaseTTL == 0:
		o.LeaseTTL = DefaultLeaseTTL
	case o.LeaseTTL < 100*time.Millisecond:
		return nil, errmark.Errorf(ErrInvalidOptions, "sqlarchive: memoize %q: LeaseTTL %v is under 100ms", name, o.LeaseTTL)
	}
	switch {
	case o.LeaseWait == 0:
		o.LeaseWait = DefaultLeaseWait
	case o.LeaseWait < 0:
		return nil, errmark.Errorf(ErrInvalidOptions, "sqlarchive: memoize %q: negative LeaseWait %v", name, o.LeaseWait)
	}
	if o.Memo.Archive != nil {
		return nil, errmark.Errorf(ErrInvalidOptions, "sqlarchive: memoize %q: MemoizeOptions.Memo.Archive must be nil: the archive is the table", name)
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
		return nil, errmark.Errorf(ErrInvalidOptions, "sqlarchive: memoize %q: MemoizeOptions.Table.Keymap %q differs from Memo.Keymap %q",
			name, o.Table.Keymap.String(), km.String())
	}
	o.Table.Keymap = km
	if o.Table.ArgsOptions == nil {
		names, positions := km.Ignored()
		o.Table.ArgsOptions = &keymap.Options{Ignore: names, IgnorePositions: positions}
	}
	t, info, err := tableInfo[R](ctx, a, name, &o.Table)
	if err != nil {
		return nil, err
	}
	resultType, argsType := describeType(reflect.TypeFor[R]()), describeType(reflect.TypeFor[A]())
	if err := a.checkTypes(ctx, info, resultType, argsType); err != nil {
		return nil, errors.Join(err, a.forget(name, t))
	}
	s := &shared[R]{a: a, name: name, opts: o.Table, resultType: resultType, argsType: argsType}
	s.t.Store(t)
	if !o.NoLease {
		s.lease = &leaseOptions{ttl: o.LeaseTTL, wait: o.LeaseWait, ttlArg: a.d.DurationArg(o.LeaseTTL)}
	}
	o.Memo.Archive = s
	if o.Memo.Clock == nil {
		o.Memo.Clock = a.now
	}
	if o.Memo.Name == "" {
		o.Memo.Name = name
	}
	if o.Memo.Observer == nil {
		o.Memo.Observer = a.obs
	}
	if o.Memo.Logger == nil {
		o.Memo.Logger = a.logger
	}
	m, err := cache.Memoize(fn, &o.Memo)
	if err != nil {
		return nil, errors.Join(errmark.Errorf(ErrInvalidOptions, "sqlarchive: memoize %q: %w", name, err), a.forget(name, t))
	}
	addMemo(a.stats, name, m)
	if !o.NoFollow {
		table, _, _ := TableName(name) // valid: Table opened it
		sub := &memoSubscriber[A, R]{memo: weak.Make(m), archive: weak.Make(s)}
		if err := a.follower.subscribe(ctx, table, sub); err != nil {
			return nil, errors.Join(err, a.forget(name, t))
		}
	}
	return m, nil
}

// ErrTypeChanged is wrapped by the errors of [Memoize] when the Go type of
// the function's result or argument differs from the one the catalog
// records for the archive (see TableInfo.ResultType): the archive holds
// results of another function. Give the function a new version
// (MemoizeOptions.Version), or drop the archive.
var ErrTypeChanged = errors.New("sqlarchive: the memoized function's type changed")

// checkTypes records result and args, descriptions of the types of the
// result and the argument of the function memoized into the archive whose
// catalog row is info, if the row records none, and otherwise returns an
// error wrapping ErrTypeChanged if they differ from those recorded. Types
// once recorded stay as long as the row does, so when info, read as the
// archive's table was opened, has these types, it sends no statement.
func (a *Archive) checkTypes(ctx context.Context, info TableInfo, result, args string) error {
	if info.ResultType == result && info.ArgsType == args {
		return nil
	}
	name := info.Name
	err := a.d.RetryConflict(ctx, conflictRetries, func() error {
		_, err := a.db.ExecContext(ctx, a.sql.types, result, args, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlarchive: memoize %q: record its types in the catalog: %w", name, err)
	}
	info, err = a.Info(ctx, name)
	if err != nil {
		return err
	}
	for _, c := range []struct{ what, stored, requested string }{
		{"result", info.ResultType, result},
		{"argument", info.ArgsType, args},
	} {
		if c.stored != c.requested {
			return errmark.Errorf(ErrTypeChanged,
				"sqlarchive: memoize %q: the %s type changed from %s to %s since the archive was made: "+
					"bump the function version (MemoizeOptions.Version, or name@v2) or drop the archive",
				name, c.what, c.stored, c.requested)
		}
	}
	return nil
}

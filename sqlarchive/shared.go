package sqlarchive

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/keyfmt"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// shared is the archive of a memo that Memoize makes: the table of an
// archive, opened again when another process dropped it, and the leases
// that make one process compute a key while the others wait.
type shared[R any] struct {
	a     *Archive
	name  string
	opts  TableOptions
	lease *leaseOptions // nil: no leases
	// The descriptions of the memoized function's result and argument
	// types, recorded in the catalog when the table is opened again.
	resultType, argsType string

	mu    sync.Mutex // serializes reopening
	t     atomic.Pointer[sqltable.Table[R]]
	stale atomic.Bool // the table was dropped: open it again before use
	// The archive's settings changed (Archive.Alter): read them before
	// the next use.
	altered atomic.Bool
}

var (
	_ cache.Archive[int]    = (*shared[int])(nil)
	_ cache.Expirer[int]    = (*shared[int])(nil)
	_ cache.Leaser[int]     = (*shared[int])(nil)
	_ cache.Lister[int]     = (*shared[int])(nil)
	_ cache.ManyPutter[int] = (*shared[int])(nil)
	_ cache.ArgsPutter[int] = (*shared[int])(nil)
)

// table returns the table, opened again if it was dropped.
func (s *shared[R]) table(ctx context.Context) (*sqltable.Table[R], error) {
	if s.altered.Load() {
		if err := s.refresh(ctx); err != nil {
			return nil, err
		}
	}
	if !s.stale.Load() {
		return s.t.Load(), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stale.Load() {
		return s.t.Load(), nil
	}
	t, info, err := tableInfo[R](ctx, s.a, s.name, &s.opts)
	if err != nil {
		return nil, err
	}
	if err := s.a.checkTypes(ctx, info, s.resultType, s.argsType); err != nil {
		return nil, errors.Join(err, s.a.forget(s.name, t))
	}
	if old := s.t.Swap(t); old != nil {
		_ = s.a.forget(s.name, old)
	}
	s.stale.Store(false)
	return t, nil
}

// gone reports whether err says that the table is no longer there: dropped
// by another process, or closed by Archive.Drop in this one. A missing
// change feed or lease table is not that: the migrations are missing.
func gone(err error) bool {
	if errors.Is(err, sqltable.ErrNoFeed) || errors.Is(err, ErrNoFeed) {
		return false
	}
	return errors.Is(err, sqltable.ErrClosed) || dialect.IsMissingTable(err)
}

// use runs fn on the table, and once more on the table opened again if it
// was dropped meanwhile.
func use[R, T any](ctx context.Context, s *shared[R], fn func(t *sqltable.Table[R]) (T, error)) (T, error) {
	t, err := s.table(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := fn(t)
	if err == nil || !gone(err) || ctx.Err() != nil {
		return v, err
	}
	s.stale.Store(true)
	if t, err = s.table(ctx); err != nil {
		var zero T
		return zero, err
	}
	return fn(t)
}

func (s *shared[R]) Get(ctx context.Context, key keymap.Key) (R, bool, error) {
	v, _, found, err := s.GetExpiry(ctx, key)
	return v, found, err
}

func (s *shared[R]) GetExpiry(ctx context.Context, key keymap.Key) (R, time.Time, bool, error) {
	type got struct {
		v       R
		expires time.Time
		found   bool
	}
	g, err := use(ctx, s, func(t *sqltable.Table[R]) (got, error) {
		v, expires, found, err := t.GetExpiry(ctx, key)
		return got{v, expires, found}, err
	})
	return g.v, g.expires, g.found, err
}

func (s *shared[R]) TTL() time.Duration { return s.t.Load().TTL() }

func (s *shared[R]) Put(ctx context.Context, key keymap.Key, value R) error {
	_, err := use(ctx, s, func(t *sqltable.Table[R]) (struct{}, error) { return struct{}{}, t.Put(ctx, key, value) })
	return err
}

func (s *shared[R]) PutArgs(ctx context.Context, key keymap.Key, args any, value R) error {
	_, err := use(ctx, s, func(t *sqltable.Table[R]) (struct{}, error) {
		return struct{}{}, t.PutArgs(ctx, key, args, value)
	})
	return err
}

func (s *shared[R]) PutMany(ctx context.Context, entries []cache.Entry[R]) error {
	_, err := use(ctx, s, func(t *sqltable.Table[R]) (struct{}, error) { return struct{}{}, t.PutMany(ctx, entries) })
	return err
}

func (s *shared[R]) Delete(ctx context.Context, key keymap.Key) error {
	_, err := use(ctx, s, func(t *sqltable.Table[R]) (struct{}, error) { return struct{}{}, t.Delete(ctx, key) })
	return err
}

func (s *shared[R]) All(ctx context.Context) iter.Seq2[cache.Entry[R], error] {
	t, err := s.table(ctx)
	if err != nil {
		return func(yield func(cache.Entry[R], error) bool) { yield(cache.Entry[R]{}, err) }
	}
	return t.All(ctx)
}

func (s *shared[R]) Lease(ctx context.Context, key keymap.Key) (cache.Lease[R], error) {
	if s.lease == nil {
		return cache.Lease[R]{}, nil
	}
	return use(ctx, s, func(t *sqltable.Table[R]) (cache.Lease[R], error) {
		l, err := lease(ctx, s.a.leases, t, s.a.now, key, *s.lease)
		if err != nil {
			err = fmt.Errorf("sqlarchive: archive %q: lease %s: %w", s.name, keyfmt.Key(key), err)
		}
		return l, err
	})
}

// memoSubscriber passes the changes of a memo's table to the memo. It holds
// the memo weakly, so that a memo no one uses any more is not kept alive by
// the follower, which then forgets the subscriber.
type memoSubscriber[A, R any] struct {
	memo    weak.Pointer[cache.Memo[A, R]]
	archive weak.Pointer[shared[R]]
}

func (m *memoSubscriber[A, R]) invalidate(keys []keymap.Key) {
	memo := m.memo.Value()
	switch {
	case memo == nil:
	case keys == nil:
		memo.Clear(true)
	default:
		memo.Invalidate(keys...)
	}
}

func (m *memoSubscriber[A, R]) dropped() {
	if s := m.archive.Value(); s != nil {
		s.stale.Store(true)
	}
}

func (m *memoSubscriber[A, R]) altered() {
	if s := m.archive.Value(); s != nil {
		s.altered.Store(true)
	}
}

func (m *memoSubscriber[A, R]) alive() bool { return m.memo.Value() != nil }

// refresh gives the table the settings of the catalog, after another
// process altered them (see Archive.Alter), and opens it with them from
// then on.
func (s *shared[R]) refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.altered.Swap(false) {
		return nil
	}
	info, err := s.a.Info(ctx, s.name)
	if errors.Is(err, ErrNotFound) {
		return nil // dropped: opened again, as the catalog says, when used
	}
	if err != nil {
		s.altered.Store(true)
		return err
	}
	ttl, b := info.TTL, info.Bounds
	s.opts.TTL, s.opts.MaxEntries, s.opts.MaxBytes, s.opts.Evict = &ttl, &b.MaxEntries, &b.MaxBytes, &b.Evict
	t := s.t.Load()
	if err := errors.Join(t.SetTTL(ttl), t.SetBounds(ctx, b)); err != nil && !gone(err) {
		s.altered.Store(true)
		return err
	}
	return nil
}

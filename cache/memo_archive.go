package cache

import (
	"context"
	"fmt"

	"github.com/klepto-sql/klepto/keymap"
)

// ManyPutter is implemented by archives that store many entries at once
// more cheaply than one by one (the SQL tables). [Memo.Dump] and
// [Memo.Sync] use it when the archive has it.
type ManyPutter[V any] interface {
	PutMany(ctx context.Context, entries []Entry[V]) error
}

// Load copies entries from the archive into memory (klepto's load). With
// keys, it copies those keys, skipping any the archive lacks. Without keys,
// it copies the entries memory lacks until memory is full, so a bounded
// memo never reads more than MaxSize entries (klepto reads the whole
// archive); that needs an archive that implements [Lister]. Load changes no
// counts.
//
// It returns [ErrNoArchive] when archiving is off.
func (m *Memo[A, R]) Load(ctx context.Context, keys ...keymap.Key) error {
	st := m.arch.Load()
	a := st.archive()
	if a == nil {
		return ErrNoArchive
	}
	epoch := m.epoch.Load()
	if len(keys) > 0 {
		for _, k := range keys {
			e, found, err := st.get(ctx, k)
			if err != nil {
				return fmt.Errorf("cache: load: %w", err)
			}
			if found {
				if err := m.keep(ctx, a, k.Text, e.Value, e.ExpiresAt, epoch, false); err != nil {
					return err
				}
			}
		}
		return nil
	}
	l, ok := a.(Lister[R])
	if !ok {
		return fmt.Errorf("cache: load: archive %T cannot list its entries", a)
	}
	if m.policy == PolicyNo {
		return nil
	}
	// Read first, store after: storing may write evicted entries back to
	// the archive, which must not happen while its iterator holds a
	// connection (a pool of one would deadlock).
	room := m.mem.MaxSize() - m.mem.Len()
	var loaded []Entry[R]
	for e, err := range l.All(ctx) {
		if err != nil {
			return fmt.Errorf("cache: load: %w", err)
		}
		if m.mem.MaxSize() > 0 && len(loaded) >= room {
			break
		}
		if _, ok := m.peek(e.Key.Text); !ok {
			loaded = append(loaded, e)
		}
	}
	for _, e := range loaded {
		if err := m.keep(ctx, a, e.Key.Text, e.Value, e.ExpiresAt, epoch, false); err != nil {
			return err
		}
	}
	return nil
}

// Dump copies entries from memory to the archive (klepto's dump): the listed
// keys that are in memory, or every entry in memory when no key is given.
// It returns [ErrNoArchive] when archiving is off.
func (m *Memo[A, R]) Dump(ctx context.Context, keys ...keymap.Key) error {
	a := m.arch.Load().archive()
	if a == nil {
		return ErrNoArchive
	}
	var es []entry[string, slot[R]]
	if len(keys) == 0 {
		es = m.mem.entries()
	} else {
		for _, k := range keys {
			if v, ok := m.mem.Peek(k.Text); ok {
				es = append(es, entry[string, slot[R]]{k.Text, v})
			}
		}
	}
	if err := m.dumpEntries(ctx, a, es); err != nil {
		return m.archiveErr("dump", fmt.Errorf("cache: dump %d entries: %w", len(es), err))
	}
	return nil
}

// Sync dumps memory to the archive, then loads the archive into memory as
// far as memory has room (see Load): without concurrent writers, the archive
// then holds the union of both, and memory wins where both held a key.
func (m *Memo[A, R]) Sync(ctx context.Context) error {
	if err := m.Dump(ctx); err != nil {
		return err
	}
	return m.Load(ctx)
}

// dumpEntries writes es to a, and returns the archive's error as it is.
func (m *Memo[A, R]) dumpEntries(ctx context.Context, a Archive[R], es []entry[string, slot[R]]) error {
	if len(es) == 0 {
		return nil
	}
	if mp, ok := a.(ManyPutter[R]); ok {
		batch := make([]Entry[R], len(es))
		for i, e := range es {
			batch[i] = Entry[R]{Key: keymap.NewKey(e.key), Value: e.value.v}
		}
		if err := mp.PutMany(ctx, batch); err != nil {
			return err
		}
		return nil
	}
	for _, e := range es {
		if err := a.Put(ctx, keymap.NewKey(e.key), e.value.v); err != nil {
			return err
		}
	}
	return nil
}

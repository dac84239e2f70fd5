package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/internal/keyfmt"
	"github.com/klepto-sql/klepto/internal/ratelog"
	"github.com/klepto-sql/klepto/keymap"
)

// DefaultMaxSize is the bound of a [Memo] whose MemoOptions.MaxSize is zero,
// as in klepto.
const DefaultMaxSize = 100

// ErrNoArchive is returned by [Memo.SetArchived] when archiving is switched
// on and no archive was ever set, and by [Memo.Load], [Memo.Dump] and
// [Memo.Sync] when the memo has no archive switched on.
var ErrNoArchive = errors.New("cache: no archive has been set")

// Policy selects the in-memory layer of a [Memo].
type Policy uint8

// The six policies. The zero value is PolicyLRU.
const (
	PolicyLRU Policy = iota // least recently used (see [LRU])
	PolicyLFU               // least frequently used (see [LFU])
	PolicyMRU               // most recently used (see [MRU])
	PolicyRR                // random replacement (see [RR])
	PolicyInf               // unbounded, never evicts (see [Inf])
	PolicyNo                // keeps nothing in memory (see [No])
)

var policyNames = [...]string{"lru", "lfu", "mru", "rr", "inf", "no"}

// String returns the policy's lower-case name: lru, lfu, mru, rr, inf or no.
func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// ParsePolicy returns the policy named s (as printed by [Policy.String]).
func ParsePolicy(s string) (Policy, error) {
	for i, name := range policyNames {
		if s == name {
			return Policy(i), nil
		}
	}
	return 0, fmt.Errorf("cache: unknown policy %q (want lru, lfu, mru, rr, inf or no)", s)
}

// MemoOptions configure a [Memo]. A nil *MemoOptions and the zero value both
// mean: LRU of [DefaultMaxSize] entries, the string keymap, no archive,
// write-through, errors returned.
type MemoOptions[R any] struct {
	// Policy selects the in-memory layer. Default PolicyLRU.
	Policy Policy

	// MaxSize bounds the entries kept in memory by LRU, LFU, MRU and RR.
	// Zero means DefaultMaxSize; negative is an error. Inf and No ignore it.
	MaxSize int

	// Keymap turns arguments into keys. Default: keymap.NewString(nil).
	Keymap *keymap.Keymap

	// Archive, if set, is the persistent store behind memory: a memory miss
	// is looked up there (a Load) before the function is called (a Miss).
	Archive Archive[R]

	// WriteBack selects klepto's write mode: a new result stays in memory
	// and reaches the archive only when the policy evicts it, on Purge, or
	// on Dump and Sync. Eviction and Purge write only the results the memo
	// computed: an entry read from the archive (by a call, Load or Sync)
	// leaves memory without a write. The default, write-through, puts every
	// new result in the archive before Call returns, so other processes see
	// it at once and a crash loses nothing. PolicyNo always writes through.
	//
	// The write of an evicted entry, or of memory on Purge, runs under the
	// context of the call that caused it, so it ends with that call's
	// deadline. If it fails, the unwritten entries stay in memory, the new
	// result is returned but not kept, and the error names the entry not
	// written (and any entry that putting it back pushed out of memory
	// unwritten, when other calls filled memory meanwhile).
	WriteBack bool

	// Purge, when an archive is set, empties memory instead of evicting one
	// entry when a new entry overflows it; in write-back mode every entry
	// the memo computed is dumped to the archive first. This is klepto's
	// purge.
	Purge bool

	// Safe makes failures of the cache invisible to callers, as klepto's safe
	// caches do: if no key can be made from the arguments, the function is
	// called directly and nothing is stored; if the archive fails, the call
	// goes on as if there were no archive. Each such failure is counted in
	// Info.Errors instead of being returned. Errors of the function itself
	// are always returned.
	Safe bool

	// Clock returns the current time; the default is time.Now. Entries
	// whose archive gives them an expiry (see [Expirer]) leave memory when
	// the clock passes it.
	Clock func() time.Time

	// Name is the name the memo's events carry (Event.Name). Default "".
	Name string

	// Observer, if set, receives the memo's events: hits, loads, misses
	// (with the time loads and the function took), evictions from memory,
	// and errors (see [Event]). Nil means none, at no cost.
	Observer Observer

	// Logger, if set, receives the errors that Safe hides, at level Error,
	// at most one record a minute for each operation that failed (the
	// next record counts those left out). Nil means no logging.
	Logger *slog.Logger
}

// Info is a snapshot of a memo's accounting, klepto's CacheInfo.
type Info struct {
	Hits    uint64 // calls served from memory
	Misses  uint64 // calls that ran the function
	Loads   uint64 // calls served from the archive after a memory miss
	Errors  uint64 // failures hidden by MemoOptions.Safe
	MaxSize int    // the memory bound; 0 for PolicyInf and PolicyNo
	Size    int    // entries in memory now that have not expired
}

// Memo memoizes a function: each result is kept under the key of its
// arguments, in memory by a policy and, optionally, in an archive.
//
// When the keymap gives equal arguments equal keys (keymap.Keymap.EqualKeys
// of A: bools, numbers, strings, and arrays and structs of them), a Memo
// keeps the key texts of arguments that were served from memory by value,
// so that their next call served from memory makes no key and does not
// allocate. Keys are the keymap's either way.
//
// Concurrent callers of one key run the function once: the others wait for
// its result (and count as hits). Errors returned by the function are never
// cached, and a panic in the function is recovered into a [*PanicError].
//
// A Memo is safe for concurrent use.
type Memo[A, R any] struct {
	fn        func(context.Context, A) (R, error)
	km        *keymap.Keymap
	mem       policy[string, slot[R]]
	policy    Policy
	writeBack bool
	purge     bool
	safe      bool
	now       func() time.Time

	arch atomic.Pointer[archiveState[R]]

	flights flightGroup[R]
	bufs    sync.Pool // *[]byte, key text scratch
	// keys keeps key texts by argument value when the keymap allows it
	// (keymap.Keymap.EqualKeys of A); nil otherwise.
	keys *argKeys

	// epoch counts the invalidations (Invalidate, Forget, Clear). A flight
	// that read the archive before one keeps its result out of memory, as
	// it may be the value the invalidation was about.
	epoch atomic.Uint64
	// expiring is set once memory has held an entry with an expiry.
	expiring atomic.Bool

	hits, misses, loads, errs atomic.Uint64

	name string          // MemoOptions.Name
	obs  Observer        // MemoOptions.Observer, or nil
	log  *ratelog.Logger // MemoOptions.Logger, or nil
}

// slot is a value in memory, with the time it expires in Unix nanoseconds
// (0 for never). dirty marks, in write-back mode, a result that no archive
// holds yet: only dirty entries are written on eviction and purge. An
// entry read from the archive is clean.
type slot[R any] struct {
	v     R
	exp   int64
	dirty bool
}

// archiveState is swapped atomically so the hot path never locks.
type archiveState[R any] struct {
	a      Archive[R] // nil when none was ever set
	on     bool
	expire Expirer[R]      // a, if its entries expire
	lease  Leaser[R]       // a, if it leases keys
	check  ValueChecker[R] // a, if it cannot store every value
}

func newArchiveState[R any](a Archive[R], on bool) *archiveState[R] {
	st := &archiveState[R]{a: a, on: on}
	st.expire, _ = a.(Expirer[R])
	st.lease, _ = a.(Leaser[R])
	st.check, _ = a.(ValueChecker[R])
	return st
}

// Memoize returns a Memo of fn. opts may be nil.
//
// It returns an error if fn is nil, MaxSize is negative, or Policy is not
// one of the six.
func Memoize[A, R any](fn func(context.Context, A) (R, error), opts *MemoOptions[R]) (*Memo[A, R], error) {
	if fn == nil {
		return nil, errors.New("cache: nil function")
	}
	var o MemoOptions[R]
	if opts != nil {
		o = *opts
	}
	if o.MaxSize < 0 {
		return nil, fmt.Errorf("cache: maxsize must not be negative, got %d", o.MaxSize)
	}
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxSize
	}
	mem, err := newPolicy[slot[R]](o.Policy, o.MaxSize)
	if err != nil {
		return nil, err
	}
	km := o.Keymap
	if km == nil {
		if km, err = keymap.NewString(nil); err != nil {
			return nil, err
		}
	}
	m := &Memo[A, R]{
		fn:        fn,
		km:        km,
		mem:       mem,
		policy:    o.Policy,
		writeBack: o.WriteBack && o.Policy != PolicyNo,
		purge:     o.Purge,
		safe:      o.Safe,
		now:       o.Clock,
		name:      o.Name,
		obs:       o.Observer,
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.log = ratelog.New(o.Logger, m.now)
	if o.Policy != PolicyNo && km.EqualKeys(reflect.TypeFor[A]()) {
		max := maxArgKeys
		if o.Policy != PolicyInf {
			max = min(2*o.MaxSize, maxArgKeys)
		}
		m.keys = newArgKeys(max)
	}
	m.arch.Store(newArchiveState(o.Archive, o.Archive != nil))
	return m, nil
}

func newPolicy[R any](p Policy, maxSize int) (policy[string, R], error) {
	switch p {
	case PolicyLRU:
		return NewLRU[string, R](maxSize)
	case PolicyLFU:
		return NewLFU[string, R](maxSize)
	case PolicyMRU:
		return NewMRU[string, R](maxSize)
	case PolicyRR:
		return NewRR[string, R](maxSize)
	case PolicyInf:
		return NewInf[string, R](), nil
	case PolicyNo:
		return NewNo[string, R](), nil
	}
	return nil, fmt.Errorf("cache: unknown policy %v", p)
}

// Call returns fn(ctx, args), from memory, from the archive, or by calling
// fn, in that order.
//
// If the key cannot be made or the archive fails, Call returns the error,
// unless the memo is Safe. If the function succeeds but the write-through to
// the archive fails, Call returns the result together with the archive's
// error; the result stays in memory.
//
// A result the archive can never store, because its codec cannot encode it
// (an error matching codec.ErrEncode, such as NaN with JSON), is not kept
// in memory either: every call that returns it runs the function and
// returns the result with the same error, or, when the memo is Safe, with
// no error, counting one in Info.Errors. A write-back memo finds such a
// result at once through [ValueChecker], not when it would be written.
func (m *Memo[A, R]) Call(ctx context.Context, args A) (R, error) {
	if m.keys != nil {
		if text, ok := m.keys.get(args); ok {
			if v, ok := m.get(text); ok {
				m.hit()
				return v, nil
			}
			return m.miss(ctx, text, args)
		}
	}
	text, err := m.encode(args)
	if err != nil {
		if !m.safe {
			m.failed("key", err)
			var zero R
			return zero, err
		}
		m.hide("key", err)
		v, err := m.call(ctx, args)
		if err == nil {
			m.misses.Add(1)
		}
		return v, err
	}
	if v, ok := m.get(text); ok {
		// A hit by arguments seen before: keep their text for the next
		// one. Arguments seen once, as on a run of misses, are not kept.
		if m.keys != nil {
			m.keys.put(args, text)
		}
		m.hit()
		return v, nil
	}
	return m.miss(ctx, text, args)
}

// get returns the value in memory for text, if it has not expired. An
// expired entry stays until a new value replaces it or the policy evicts
// it.
func (m *Memo[A, R]) get(text string) (R, bool) {
	s, ok := m.mem.Get(text)
	if !ok || s.exp != 0 && s.exp <= m.now().UnixNano() {
		var zero R
		return zero, false
	}
	return s.v, true
}

// text returns the key text of args, the memory key, from m.keys if it
// keeps it.
func (m *Memo[A, R]) text(args A) (string, error) {
	if m.keys != nil {
		if text, ok := m.keys.get(args); ok {
			return text, nil
		}
	}
	return m.encode(args)
}

// encode makes the key text of args.
func (m *Memo[A, R]) encode(args A) (string, error) {
	bp, _ := m.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b, err := m.km.AppendText((*bp)[:0], args)
	var s string
	if err == nil {
		s = string(b)
	}
	if cap(b) <= 1<<16 { // keep huge buffers out of the pool
		*bp = b
		m.bufs.Put(bp)
	}
	if err != nil {
		return "", fmt.Errorf("cache: key: %w", err)
	}
	return s, nil
}

// miss handles a memory miss: one caller per key goes on to the archive and
// the function; the others wait for its outcome.
func (m *Memo[A, R]) miss(ctx context.Context, text string, args A) (R, error) {
	for {
		c, leader := m.flights.join(text)
		if leader {
			m.lead(ctx, c, text, args)
			return c.val, c.err
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			var zero R
			return zero, ctx.Err()
		}
		// The leader gave up because its own context ended: try again with
		// ours rather than inherit a cancellation that is not ours.
		if isContextErr(c.err) && ctx.Err() == nil {
			continue
		}
		if c.err == nil {
			m.hit()
		}
		return c.val, c.err
	}
}

// lead fills the flight c of key text and ends it, whatever happens: a panic
// in the archive or in encoding a value, not only in the function, must not
// leave the key's other callers waiting forever.
func (m *Memo[A, R]) lead(ctx context.Context, c *flight[R], text string, args A) {
	defer func() {
		if r := recover(); r != nil {
			c.err = newPanicError(r)
		}
		m.flights.done(text, c)
	}()
	c.val, c.err = m.fill(ctx, text, args)
}

// fill runs for the one caller that leads the flight of a key.
func (m *Memo[A, R]) fill(ctx context.Context, text string, args A) (R, error) {
	// A flight for this key may have finished between our memory miss and
	// our joining: look again.
	if v, ok := m.get(text); ok {
		m.hit()
		return v, nil
	}
	epoch := m.epoch.Load()
	st := m.arch.Load()
	a := st.archive()
	var key keymap.Key
	if a != nil {
		key = keymap.NewKey(text)
		start := m.start()
		e, found, err := st.get(ctx, key)
		switch {
		case err != nil && !m.safe:
			err = fmt.Errorf("cache: archive get: %w", err)
			m.failed("archive get", err)
			var zero R
			return zero, err
		case err != nil:
			// Go on as if the archive had no entry: the write-through, or
			// a write-back on eviction, may still succeed.
			m.hide("archive get", fmt.Errorf("cache: archive get: %w", err))
		case found:
			m.loaded(start)
			return e.Value, m.keep(ctx, a, text, e.Value, e.ExpiresAt, epoch, false)
		case st.lease != nil:
			l, err := st.lease.Lease(ctx, key)
			switch {
			case err != nil && !m.safe:
				err = fmt.Errorf("cache: archive lease: %w", err)
				m.failed("archive lease", err)
				var zero R
				return zero, err
			case err != nil:
				m.hide("archive lease", fmt.Errorf("cache: archive lease: %w", err))
			case l.Found:
				m.loaded(start)
				return l.Entry.Value, m.keep(ctx, a, text, l.Entry.Value, l.Entry.ExpiresAt, epoch, false)
			case l.Release != nil:
				defer l.Release()
			}
		}
	}
	v, err := m.call(ctx, args)
	if err != nil {
		return v, err
	}
	m.misses.Add(1)
	// The entry's expiry in memory is taken before the archive stamps its
	// own, so that memory never outlives the archive.
	expires := st.expiry(m.now())
	var putErr error
	switch {
	case a != nil && !m.writeBack:
		// Write through before keeping, so that a value the archive
		// refuses is never seen in memory.
		if err := m.put(ctx, a, key, args, v); err != nil {
			putErr = fmt.Errorf("cache: archive put: %w", err)
			if errors.Is(err, codec.ErrEncode) {
				return v, m.archiveErr("archive put", putErr)
			}
		}
	case a != nil && st.check != nil:
		if err := st.check.CheckValue(v); err != nil {
			return v, m.archiveErr("archive check", fmt.Errorf("cache: archive check: %w", err))
		}
	}
	// A write-back result is dirty until it is written; a written-through
	// one is clean.
	if err := m.keep(ctx, a, text, v, expires, epoch, m.writeBack); err != nil {
		return v, err // only in write-back mode, where putErr is nil
	}
	return v, m.archiveErr("archive put", putErr)
}

// keep stores v for text in memory, expiring at expires (zero: never), as
// store does, unless an invalidation came since epoch was read: the value
// may then be the stale one it was about. dirty is false for a value read
// from the archive, which eviction need not write back.
func (m *Memo[A, R]) keep(ctx context.Context, a Archive[R], text string, v R, expires time.Time, epoch uint64, dirty bool) error {
	s := slot[R]{v: v, dirty: dirty}
	if !expires.IsZero() {
		s.exp = expires.UnixNano()
		m.expiring.Store(true)
	}
	err := m.store(ctx, a, text, s)
	// An invalidation between the archive read and the store may have
	// missed the entry: drop it. One after this check finds the entry and
	// drops it itself.
	if m.epoch.Load() != epoch {
		m.mem.Delete(text)
	}
	return err
}

// put writes one new result through to a, with its arguments if a keeps them.
func (m *Memo[A, R]) put(ctx context.Context, a Archive[R], key keymap.Key, args A, v R) error {
	if ap, ok := a.(ArgsPutter[R]); ok {
		return ap.PutArgs(ctx, key, args, v)
	}
	return a.Put(ctx, key, v)
}

// store puts v in memory and applies eviction: in write-back mode an
// evicted entry is written to a; with Purge, a full memory is emptied
// (written to a first in write-back mode). a is the archive in use for this
// call, or nil.
//
// The writes of evicted entries run under ctx, so they end with the call's
// deadline. An entry that only memory holds is not dropped unreported: if
// writing it back fails, it goes back into memory and the new entry is the
// one left out; the error names the key that was not written, and any
// entry that putting it back pushed out of memory without being written.
// A Safe memo counts that error in Info.Errors rather than returning it.
func (m *Memo[A, R]) store(ctx context.Context, a Archive[R], text string, v slot[R]) error {
	if a != nil && m.purge {
		if max := m.mem.MaxSize(); max > 0 && m.mem.Len() >= max {
			if _, present := m.mem.Peek(text); !present {
				return m.purgeAll(ctx, a, entry[string, slot[R]]{text, v})
			}
		}
	}
	k, ev, evicted := m.mem.put(text, v)
	if !evicted {
		return nil
	}
	if a == nil || !m.writeBack || !ev.dirty {
		m.evicted(1)
		return nil
	}
	err := a.Put(ctx, keymap.NewKey(k), ev.v)
	if err == nil {
		m.evicted(1)
		return nil
	}
	// Put the evicted entry back in place of the new one, which the
	// caller has anyway; only the entries that putting it back pushes out
	// are reported evicted.
	m.mem.Delete(text)
	lost := m.restore([]entry[string, slot[R]]{{k, ev}})
	m.evicted(len(lost))
	return m.archiveErr("archive put on eviction", fmt.Errorf("cache: archive put on eviction: key %s kept in memory, not written%s: %w", keyfmt.Text(k), lostKeys(lost), err))
}

// purgeAll empties memory, klepto's purge: in write-back mode every entry,
// and the new one, is written to a first; if that fails, memory keeps them
// (as store puts them back) and the new entry is left out. Evictions are
// reported once the entries are written: on failure, only the entries that
// putting them back pushes out of memory.
func (m *Memo[A, R]) purgeAll(ctx context.Context, a Archive[R], add entry[string, slot[R]]) error {
	all := append(m.mem.drain(), add)
	if !m.writeBack {
		m.evicted(len(all) - 1)
		return nil
	}
	err := m.dumpEntries(ctx, a, dirtyEntries(all))
	if err == nil {
		m.evicted(len(all) - 1)
		return nil
	}
	lost := m.restore(all[:len(all)-1]) // the new entry is the one left out
	m.evicted(len(lost))
	return m.archiveErr("archive put on purge", fmt.Errorf("cache: archive put on purge: %d entries kept in memory, not written%s: %w", len(all)-1-len(lost), lostKeys(lost), err))
}

// dirtyEntries returns the entries of es that no archive holds yet, in a
// new slice.
func dirtyEntries[R any](es []entry[string, slot[R]]) []entry[string, slot[R]] {
	var dirty []entry[string, slot[R]]
	for _, e := range es {
		if e.value.dirty {
			dirty = append(dirty, e)
		}
	}
	return dirty
}

// restore puts es back into memory after writing them to the archive
// failed, and returns the keys of the entries it pushed out of memory:
// entries that other calls stored meanwhile, or es themselves, that no
// archive holds either.
func (m *Memo[A, R]) restore(es []entry[string, slot[R]]) []string {
	var lost []string
	for _, e := range es {
		if k, _, evicted := m.mem.put(e.key, e.value); evicted {
			lost = append(lost, k)
		}
	}
	return lost
}

// lostKeys describes the keys restore could not keep, for an error.
func lostKeys(keys []string) string {
	switch len(keys) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("; key %s was dropped from memory unwritten", keyfmt.Text(keys[0]))
	}
	return fmt.Sprintf("; %d keys, such as %s, were dropped from memory unwritten", len(keys), keyfmt.Text(keys[0]))
}

// archiveErr returns err, met by op, or nil after counting it when the
// memo is Safe; either way it reports it.
func (m *Memo[A, R]) archiveErr(op string, err error) error {
	switch {
	case err == nil:
	case m.safe:
		m.hide(op, err)
		return nil
	default:
		m.failed(op, err)
	}
	return err
}

// invoke calls the function, turning a panic into a *PanicError.
func (m *Memo[A, R]) invoke(ctx context.Context, args A) (v R, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = newPanicError(r)
		}
	}()
	return m.fn(ctx, args)
}

// Key returns the key a call with args would use (klepto's keygen), without
// calling the function or changing any count.
func (m *Memo[A, R]) Key(args A) (keymap.Key, error) {
	return m.km.Key(args)
}

// Lookup returns the result for args if it is in memory. It never consults
// the archive, never calls the function and changes neither the counts nor
// the policy's order. The error is that of making the key.
func (m *Memo[A, R]) Lookup(args A) (R, bool, error) {
	text, err := m.text(args)
	if err != nil {
		var zero R
		return zero, false, err
	}
	v, ok := m.peek(text)
	return v, ok, nil
}

// peek returns the value in memory for text, if it has not expired,
// without counting a use.
func (m *Memo[A, R]) peek(text string) (R, bool) {
	s, ok := m.mem.Peek(text)
	if !ok || s.exp != 0 && s.exp <= m.now().UnixNano() {
		var zero R
		return zero, false
	}
	return s.v, true
}

// Info returns the memo's counts and sizes. Size counts the entries in
// memory that have not expired.
func (m *Memo[A, R]) Info() Info {
	return Info{
		Hits:    m.hits.Load(),
		Misses:  m.misses.Load(),
		Loads:   m.loads.Load(),
		Errors:  m.errs.Load(),
		MaxSize: m.mem.MaxSize(),
		Size:    m.size(),
	}
}

// size returns the number of entries in memory that have not expired.
func (m *Memo[A, R]) size() int {
	if !m.expiring.Load() {
		return m.mem.Len()
	}
	now := m.now().UnixNano()
	n := 0
	for _, e := range m.mem.entries() {
		if e.value.exp == 0 || e.value.exp > now {
			n++
		}
	}
	return n
}

// Invalidate removes the entries of keys from memory, leaving the archive
// alone, so that the next calls of those keys read the archive again. A
// call of one of the keys that is reading the archive at that moment
// returns what it read but keeps it out of memory. Followers of a shared
// archive, such as those of package sqlarchive, call Invalidate when
// another process changes or deletes keys. In write-back mode, entries not
// yet written to the archive are lost.
func (m *Memo[A, R]) Invalidate(keys ...keymap.Key) {
	m.epoch.Add(1)
	for _, k := range keys {
		m.mem.Delete(k.Text)
	}
}

// Forget removes the result for args from memory and from the archive, so
// that the next call computes it again. Other processes sharing the
// archive drop it from their memory too when they follow its changes (see
// package sqlarchive). The error is that of making the key, or of the
// archive's Delete (counted instead when the memo is Safe). A call of the
// same key that is computing at that moment may still store its result.
func (m *Memo[A, R]) Forget(ctx context.Context, args A) error {
	text, err := m.text(args)
	if err != nil {
		return err
	}
	m.epoch.Add(1)
	m.mem.Delete(text)
	a := m.arch.Load().archive()
	if a == nil {
		return nil
	}
	if err := a.Delete(ctx, keymap.NewKey(text)); err != nil {
		return m.archiveErr("forget", fmt.Errorf("cache: forget: %w", err))
	}
	return nil
}

// Clear empties memory and, unless keepStats, resets the counts. It never
// touches the archive.
func (m *Memo[A, R]) Clear(keepStats bool) {
	m.epoch.Add(1)
	m.mem.Clear()
	if !keepStats {
		m.hits.Store(0)
		m.misses.Store(0)
		m.loads.Store(0)
		m.errs.Store(0)
	}
}

// Keymap returns the keymap that makes the memo's keys.
func (m *Memo[A, R]) Keymap() *keymap.Keymap { return m.km }

// Ignored returns the argument names and positions the keymap ignores.
func (m *Memo[A, R]) Ignored() (names []string, positions []int) { return m.km.Ignored() }

// Policy returns the memo's in-memory policy.
func (m *Memo[A, R]) Policy() Policy { return m.policy }

// Archive returns the memo's archive, or nil if none was set. It returns the
// archive even while archiving is switched off.
func (m *Memo[A, R]) Archive() Archive[R] { return m.arch.Load().a }

// SetArchive replaces the archive and switches archiving on (off if a is
// nil). Entries in memory stay; nothing is copied between archives.
func (m *Memo[A, R]) SetArchive(a Archive[R]) {
	m.arch.Store(newArchiveState(a, a != nil))
}

// Archived reports whether the memo uses an archive now.
func (m *Memo[A, R]) Archived() bool { return m.arch.Load().archive() != nil }

// SetArchived switches archiving on or off, keeping the archive aside while
// it is off. Switching on returns [ErrNoArchive] if no archive was set.
func (m *Memo[A, R]) SetArchived(on bool) error {
	st := m.arch.Load()
	if on && st.a == nil {
		return ErrNoArchive
	}
	m.arch.Store(newArchiveState(st.a, on))
	return nil
}

func (s *archiveState[R]) archive() Archive[R] {
	if s.on {
		return s.a
	}
	return nil
}

// get reads key from the archive, which must be on, with its expiry when
// the archive's entries expire.
func (s *archiveState[R]) get(ctx context.Context, key keymap.Key) (Entry[R], bool, error) {
	e := Entry[R]{Key: key}
	var found bool
	var err error
	if s.expire != nil {
		e.Value, e.ExpiresAt, found, err = s.expire.GetExpiry(ctx, key)
	} else {
		e.Value, found, err = s.a.Get(ctx, key)
	}
	return e, found, err
}

// expiry returns when an entry that the archive stores at now expires, the
// zero time for never or when archiving is off.
func (s *archiveState[R]) expiry(now time.Time) time.Time {
	if s.expire == nil || !s.on {
		return time.Time{}
	}
	if ttl := s.expire.TTL(); ttl > 0 {
		return now.Add(ttl)
	}
	return time.Time{}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

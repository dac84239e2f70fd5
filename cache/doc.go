// Package cache holds klepto's six in-process policy caches and the
// memoizer that puts them in front of an archive.
//
// The caches, [LRU], [LFU], [MRU], [RR], [Inf] and [No], are generic maps
// with a bound and an eviction policy; each is usable on its own
// ([NewLRU] and friends) and as the memory of a [Memo].
//
// [Memoize] wraps a function func(context.Context, A) (R, error). Its
// argument A is one value; several arguments are a struct whose field names
// act as keyword names (see package keymap, which turns arguments into
// keys). A call is served from memory (a hit), else from the [Archive] (a
// load), else by calling the function (a miss), as klepto counts them in
// [Info]:
//
//	m, err := cache.Memoize(fib, &cache.MemoOptions[int]{Policy: cache.PolicyLRU, MaxSize: 1000})
//	v, err := m.Call(ctx, 30)
//
// An archive is anything with Get, Put and Delete over keymap.Key: the
// Dict, Null, File and Dir archives of package archive, and the SQL tables
// of packages sqltable and sqlarchive. Optional methods, discovered by type
// assertion, make more of the memo work: [Lister] for Load without keys,
// [ManyPutter] for batched dumps, [ArgsPutter] to keep the arguments,
// [Expirer] for entries that expire, [Leaser] to compute a key once
// across processes.
//
// # Sharing an archive between processes
//
// Several processes may memoize one function into one archive (the SQL
// tables of package sqlarchive are made for it). Each keeps its own memory
// in front of the archive, and three things keep that memory honest:
//
//   - Expiry: when the archive's entries expire ([Expirer]), each entry in
//     memory carries the expiry of its entry in the archive, and an expired
//     entry is a miss in every policy: it is never served, Lookup does not
//     find it and Info does not count it.
//   - Invalidation: [Memo.Invalidate] drops keys from memory when another
//     process changed them in the archive, [Memo.Forget] drops a key from
//     memory and from the archive, and Clear drops everything. A value read
//     from the archive while an invalidation happens is returned but not
//     kept, so memory never holds a value older than an invalidation.
//   - Leases: when the archive leases keys ([Leaser]), a miss in memory and
//     in the archive asks for the key's lease before calling the function,
//     and waits for the process that holds it instead of computing too.
//
// # Metrics and logs
//
// MemoOptions.Observer receives an [Event] for each hit, load, miss and
// eviction of a memo, and for each error of its keymap or archive, with
// the time each load and each run of the function took: feed it to
// metrics (the modules metrics/kleptoprom and metrics/kleptootel of this
// repository are ready adapters for Prometheus and OpenTelemetry). A memo
// without an Observer does no work for it, and one with an Observer still
// serves a hit from memory without allocating. MemoOptions.Logger, a
// *slog.Logger, receives the errors that Safe hides from callers, at most
// one record a minute per failing operation.
//
// # Semantics, and where they differ from klepto
//
// Memos follow klepto's decorators (lru_cache and friends): hits never
// evict; a load or a miss that overflows memory evicts per policy; Key,
// Lookup, Load, Dump, Sync, Clear(keepStats), SetArchive and SetArchived
// do what klepto's key, lookup, load, dump, sync, clear, archive and
// archived do. We differ where klepto surprises its users:
//
//   - Writes go through to the archive by default, so a crash loses nothing
//     and other processes see results at once; MemoOptions.WriteBack gives
//     klepto's write-back behaviour, and Purge its purge.
//   - LFU evicts one entry, not max(2, maxsize/10) entries at once: a bound
//     is a bound, not a cliff. RR never evicts the entry being inserted.
//   - Load without keys stops when memory is full instead of reading the
//     whole archive (klepto issue 27).
//   - Concurrent callers of one key run the function once; the others wait
//     for it and count as hits. Errors are never cached, and a panic in the
//     function becomes a [*PanicError] carrying the stack.
//   - A result the archive's codec cannot encode (NaN or an infinity with
//     JSON) is kept neither in the archive nor in memory, so every call
//     that returns it behaves alike: it runs the function and returns the
//     result with an error matching codec.ErrEncode (see [Memo.Call]).
//   - In write-back mode, writing an evicted entry, or memory on Purge,
//     ends with the deadline of the call that evicts; what could not be
//     written stays in memory, and the error says so (see
//     MemoOptions.WriteBack).
//   - In write-back mode, eviction and Purge write only new results: an
//     entry read from the archive (by a call, Load or Sync) is not written
//     back when it leaves memory.
//   - Keys are deterministic across processes (klepto's default hash() is
//     not, so its archives never hit after a restart).
//
// Memos and caches are safe for concurrent use. Package cache never
// imports database/sql.
package cache

package sqltable

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
)

// Evict is the order in which a bounded Table evicts its entries (see
// [Bounds]): the first in the order go first.
type Evict uint8

const (
	// EvictLRS evicts the least recently stored entries first: those
	// whose updated_at is oldest. It is the default, and costs nothing
	// on reads.
	EvictLRS Evict = iota
	// EvictLRU evicts the least recently used entries first: those whose
	// accessed_at is oldest (NULL, never read, before any time), then
	// by updated_at.
	EvictLRU
	// EvictLFU evicts the least frequently used entries first: those
	// with the fewest hits, then by accessed_at and updated_at.
	EvictLFU
)

// String returns "lrs", "lru" or "lfu", the names ParseEvict takes and
// the catalog of package sqlarchive records.
func (e Evict) String() string {
	switch e {
	case EvictLRS:
		return "lrs"
	case EvictLRU:
		return "lru"
	case EvictLFU:
		return "lfu"
	}
	return fmt.Sprintf("Evict(%d)", uint8(e))
}

// Valid reports whether e is one of EvictLRS, EvictLRU and EvictLFU.
func (e Evict) Valid() bool { return e <= EvictLFU }

// ParseEvict returns the Evict called name: "lrs", "lru" or "lfu"; ""
// is EvictLRS, the default. Other names are an error that lists these.
func ParseEvict(name string) (Evict, error) {
	switch name {
	case "", "lrs":
		return EvictLRS, nil
	case "lru":
		return EvictLRU, nil
	case "lfu":
		return EvictLFU, nil
	}
	return 0, fmt.Errorf("unknown eviction order %q (want lrs, lru or lfu)", name)
}

// The sizes of an eviction batch. A batch is MaxEntries/20 entries (or
// MaxBytes/20 bytes), at least MinEvictBatch entries (MinEvictBatchBytes
// bytes), at most maxEvictBatch entries; a bound smaller than one batch is
// refused.
const (
	// MinEvictBatch is the fewest entries a Table evicts at once, and so
	// the smallest Options.MaxEntries.
	MinEvictBatch = 10
	// MinEvictBatchBytes is the fewest bytes a Table evicts at once, and
	// so the smallest Options.MaxBytes.
	MinEvictBatchBytes = 4096
	// maxEvictBatch is the most entries one eviction statement deletes;
	// more to evict take several.
	maxEvictBatch = 5000
	// evictWriters is how many writers at once the checks are made for:
	// each Table checks its bounds after writes adding 1/evictWriters of a
	// batch, so that evictWriters writers cannot overshoot by more than
	// one batch before one of them checks. (An interval that grows with
	// the room a check found would not do: a writer whose last check
	// found the table nearly empty would write for long while the others
	// fill it.)
	evictWriters = 8
)

// checkNow, as the count of rows written since the last check, makes the
// next write check the bounds.
const checkNow = math.MaxInt64 / 2

// Bounds limit the size of a table (see the package documentation): the
// number of its rows and the sum of their size_bytes. The zero value
// bounds nothing.
type Bounds struct {
	// MaxEntries is the most rows the table keeps, expired or not; zero
	// means no bound. It must not be negative, nor under MinEvictBatch.
	MaxEntries int64
	// MaxBytes is the most bytes of encoded values (the size_bytes
	// column) the table keeps; zero means no bound. It must not be
	// negative, nor under MinEvictBatchBytes.
	MaxBytes int64
	// Evict is the order of eviction; the default is EvictLRS.
	Evict Evict
}

// Bounded reports whether b bounds anything.
func (b Bounds) Bounded() bool { return b.MaxEntries > 0 || b.MaxBytes > 0 }

// Validate says what is wrong with b, if anything, in an error wrapping
// ErrInvalidOptions.
func (b Bounds) Validate() error {
	var err error
	switch {
	case b.MaxEntries < 0:
		err = fmt.Errorf("negative MaxEntries %d", b.MaxEntries)
	case b.MaxEntries > 0 && b.MaxEntries < MinEvictBatch:
		err = fmt.Errorf("MaxEntries %d is smaller than one eviction batch (%d entries)", b.MaxEntries, MinEvictBatch)
	case b.MaxBytes < 0:
		err = fmt.Errorf("negative MaxBytes %d", b.MaxBytes)
	case b.MaxBytes > 0 && b.MaxBytes < MinEvictBatchBytes:
		err = fmt.Errorf("MaxBytes %d is smaller than one eviction batch (%d bytes)", b.MaxBytes, MinEvictBatchBytes)
	case !b.Evict.Valid():
		err = fmt.Errorf("unknown eviction order %v (want lrs, lru or lfu)", b.Evict)
	}
	if err != nil {
		return errmark.Errorf(ErrInvalidOptions, "%w", err)
	}
	return nil
}

// EvictBatch returns how many entries, and how many bytes, a Table with
// bounds b evicts past a bound at once: the most, past the bound, that the
// table holds (see the package documentation).
func (b Bounds) EvictBatch() (entries, bytes int64) {
	if b.MaxEntries > 0 {
		entries = min(max(b.MaxEntries/20, MinEvictBatch), maxEvictBatch)
	}
	if b.MaxBytes > 0 {
		bytes = max(b.MaxBytes/20, MinEvictBatchBytes)
	}
	return entries, bytes
}

// bounded is the eviction state of a Table with Bounds: the statements and
// the thresholds of its checks.
type bounded struct {
	b                 Bounds
	batch, batchBytes int64
	// A write checks the bounds when the rows added since the last check
	// reach checkRows, or their bytes checkBytes.
	checkRows, checkBytes int64
	count                 string // COUNT(*) and SUM(size_bytes) (0 without MaxBytes)
	victims               string // key_hash, size_bytes in the order of eviction; LIMIT ?
	index                 string // the index of the order, "" on MySQL
	indexName             string
}

// newBounded returns the eviction state of a Table with bounds b, nil
// when b bounds nothing.
func (t *Table[V]) newBounded(b Bounds) *bounded {
	if !b.Bounded() {
		return nil
	}
	d, c := t.d, t.d.QuoteIdent
	s := &bounded{b: b, checkRows: math.MaxInt64, checkBytes: math.MaxInt64}
	s.batch, s.batchBytes = b.EvictBatch()
	if s.batch > 0 {
		s.checkRows = max(1, s.batch/evictWriters)
	}
	if s.batchBytes > 0 {
		s.checkBytes = max(1, s.batchBytes/evictWriters)
	}
	nullsFirst := ""
	if d == dialect.Postgres {
		nullsFirst = " NULLS FIRST"
	}
	var cols []string
	switch b.Evict {
	case EvictLRU:
		cols = []string{c("accessed_at") + nullsFirst, c("updated_at"), c("key_hash")}
	case EvictLFU:
		cols = []string{c("hits"), c("accessed_at") + nullsFirst, c("updated_at"), c("key_hash")}
	default:
		cols = []string{c("updated_at"), c("key_hash")}
	}
	order := strings.Join(cols, ", ")
	from := " FROM " + c(t.name)
	// Without a bound on bytes, the count reads an index, not the rows.
	s.count = "SELECT COUNT(*), 0" + from
	if b.MaxBytes > 0 {
		s.count = "SELECT COUNT(*), COALESCE(SUM(" + c("size_bytes") + "), 0)" + from
	}
	s.victims = d.Rebind("SELECT " + c("key_hash") + ", " + c("size_bytes") + from + " ORDER BY " + order + " LIMIT ?")
	if d != dialect.SQLite {
		s.victims += " FOR UPDATE"
	}
	s.indexName = evictIndexName(t.name, b.Evict)
	s.index = "CREATE INDEX " + c(s.indexName) + " ON " + c(t.name) + " (" + order + ")"
	return s
}

// evictIndexName returns the name of the index of table for the order e:
// klepto_evict_, 16 hex digits of the SHA-256 of the table's name, and
// the order, so that it fits every database's limit on names whatever the
// table's name.
func evictIndexName(table string, e Evict) string {
	sum := sha256.Sum256([]byte(table))
	return "klepto_evict_" + hex.EncodeToString(sum[:8]) + "_" + e.String()
}

// Bounds returns the Table's bounds (Options.MaxEntries, MaxBytes and
// Evict, or those of the last SetBounds).
func (t *Table[V]) Bounds() Bounds {
	if s := t.bounds.Load(); s != nil {
		return s.b
	}
	return Bounds{}
}

// SetBounds changes the Table's bounds to b, from the next write on: the
// next write that checks them (see the package documentation) evicts what
// is past them. It creates the index of b's eviction order if the table
// lacks it. It returns an error wrapping ErrInvalidOptions if b is not
// valid, and changes nothing then.
func (t *Table[V]) SetBounds(ctx context.Context, b Bounds) error {
	if t.closed.Load() {
		return t.closedf("set bounds")
	}
	if err := b.Validate(); err != nil {
		return t.errorf("set bounds: %w", err)
	}
	s := t.newBounded(b)
	if err := t.createEvictIndex(ctx, s); err != nil {
		return t.errorf("set bounds: %w", err)
	}
	t.bounds.Store(s)
	// Check at the next write.
	t.pendingRows.Store(checkNow)
	return nil
}

// SetTTL changes how long the entries that the Table writes from now on
// live. Entries written before keep their expires_at. A negative ttl is an
// error wrapping ErrInvalidOptions.
func (t *Table[V]) SetTTL(ttl time.Duration) error {
	if ttl < 0 {
		return t.errorf("set TTL: %w", errmark.Errorf(ErrInvalidOptions, "negative TTL %v", ttl))
	}
	t.ttl.Store(int64(ttl))
	return nil
}

// createEvictIndex creates the index of the eviction order of s, unless
// the table has it: with IF NOT EXISTS on SQLite and PostgreSQL; on MySQL,
// which lacks it, after looking for the index, and accepting that another
// process made it at the same time. A Table bound to a transaction on
// MySQL, where DDL would commit the transaction, creates none.
func (t *Table[V]) createEvictIndex(ctx context.Context, s *bounded) error {
	if s == nil {
		return nil
	}
	if t.d != dialect.MySQL {
		ddl := strings.Replace(s.index, "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
		err := t.do(ctx, true, func(ctx context.Context) error {
			_, err := t.db.ExecContext(ctx, ddl)
			return err
		})
		if err != nil {
			return fmt.Errorf("create index %s: %w", s.indexName, err)
		}
		return nil
	}
	if t.conn == nil {
		return nil
	}
	has := func(ctx context.Context) (bool, error) {
		var n int
		err := t.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.statistics
			WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?`, t.name, s.indexName).Scan(&n)
		return n > 0, err
	}
	err := t.do(ctx, true, func(ctx context.Context) error {
		if ok, err := has(ctx); err != nil || ok {
			return err
		}
		_, err := t.db.ExecContext(ctx, s.index)
		if err != nil {
			if ok, herr := has(ctx); herr == nil && ok {
				return nil // made by another process meanwhile
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create index %s: %w", s.indexName, err)
	}
	return nil
}

// wrote counts a write of rows possibly new rows and bytes of values, and
// enforces the bounds when the writes since the last check reach a
// threshold. Only one goroutine of a Table evicts at a time; the others
// go on without waiting.
func (t *Table[V]) wrote(ctx context.Context, rows, bytes int64) error {
	s := t.bounds.Load()
	if s == nil {
		return nil
	}
	r, b := t.pendingRows.Add(rows), t.pendingBytes.Add(bytes)
	if r < s.checkRows && b < s.checkBytes && r < checkNow {
		return nil
	}
	if !t.evictMu.TryLock() {
		return nil
	}
	defer t.evictMu.Unlock()
	t.pendingRows.Store(0)
	t.pendingBytes.Store(0)
	if _, err := t.enforce(ctx, s); err != nil {
		// Check again at the next write.
		t.pendingRows.Store(checkNow)
		return errmark.Errorf(ErrEvict, "the entry is stored, but eviction failed: %w", err)
	}
	return nil
}

// ErrEvict is wrapped by the errors of writes that stored their entries
// but then failed to evict entries past the Table's bounds. The next
// write tries again.
var ErrEvict = errors.New("sqltable: eviction failed")

// Evict evicts the entries past the Table's bounds now, as a write that
// checks them does, and returns how many it evicted. Without bounds it
// evicts nothing.
func (t *Table[V]) Evict(ctx context.Context) (int, error) {
	if t.closed.Load() {
		return 0, t.closedf("evict")
	}
	s := t.bounds.Load()
	if s == nil {
		return 0, nil
	}
	t.evictMu.Lock()
	defer t.evictMu.Unlock()
	n, err := t.enforce(ctx, s)
	if err != nil {
		return n, t.errorf("evict: %w", err)
	}
	return n, nil
}

// enforce counts the rows and bytes of the table and, while they are past
// a bound, evicts what is past it and one batch more, in the order of s,
// at most maxEvictBatch rows per transaction. It returns how many rows it
// evicted. The first count is made outside a transaction, so that a
// check that finds the table within its bounds takes no lock and commits
// nothing; each batch counts again in its transaction.
func (t *Table[V]) enforce(ctx context.Context, s *bounded) (int, error) {
	var count, sum int64
	err := t.do(ctx, true, func(ctx context.Context) error {
		return t.db.QueryRowContext(ctx, s.count).Scan(&count, &sum)
	})
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	if needRows, needBytes := s.need(count, sum); needRows == 0 && needBytes == 0 {
		return 0, nil
	}
	total := 0
	for {
		n, more, err := t.evictOnce(ctx, s)
		total += n
		if err != nil || !more || n == 0 {
			t.observeEvict(total)
			return total, err
		}
	}
}

// need returns how many rows and bytes a table of count rows and sum
// bytes must lose to be one batch under the bounds of s that it is past:
// zero for a bound it is within.
func (s *bounded) need(count, sum int64) (rows, bytes int64) {
	if s.b.MaxEntries > 0 && count > s.b.MaxEntries {
		rows = count - s.b.MaxEntries + s.batch
	}
	if s.b.MaxBytes > 0 && sum > s.b.MaxBytes {
		bytes = sum - s.b.MaxBytes + s.batchBytes
	}
	return rows, bytes
}

// evictOnce evicts one batch in one transaction, and reports whether more
// is past the bounds.
func (t *Table[V]) evictOnce(ctx context.Context, s *bounded) (n int, more bool, err error) {
	run := func(ctx context.Context, q Querier) error {
		n, more = 0, false
		var count, sum int64
		if err := q.QueryRowContext(ctx, s.count).Scan(&count, &sum); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		needRows, needBytes := s.need(count, sum)
		if needRows == 0 && needBytes == 0 {
			return nil
		}
		limit := needRows
		if needBytes > 0 && count > 0 {
			avg := max(1, sum/count)
			limit = max(limit, needBytes/avg+needBytes/avg/4+1)
		}
		limit = min(limit, maxEvictBatch)
		hashes, freedRows, freedBytes, err := t.pickVictims(ctx, q, s, limit, needRows, needBytes)
		if err != nil {
			return err
		}
		if len(hashes) == 0 {
			return nil
		}
		if err := t.deleteVictims(ctx, q, hashes); err != nil {
			return err
		}
		n = len(hashes)
		more = freedRows < needRows || freedBytes < needBytes
		return nil
	}
	switch {
	case t.conn == nil: // the caller's transaction
		err = run(ctx, t.db)
	default:
		err = t.do(ctx, true, func(ctx context.Context) error {
			return t.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return run(ctx, tx) })
		})
	}
	if err == nil && n > 0 && t.feed != nil {
		t.pruneAfterEvict(ctx)
	}
	return n, more, err
}

// pickVictims returns the key hashes of the first rows in the order of
// eviction, up to limit, until they make needRows rows and needBytes
// bytes, and how many rows and bytes they make.
func (t *Table[V]) pickVictims(ctx context.Context, q Querier, s *bounded, limit, needRows, needBytes int64) (hashes []any, rows, bytes int64, err error) {
	rs, err := q.QueryContext(ctx, s.victims, limit)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("select victims: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		if rows >= needRows && bytes >= needBytes {
			break
		}
		var hash []byte
		var size int64
		if err := rs.Scan(&hash, &size); err != nil {
			return nil, 0, 0, fmt.Errorf("select victims: %w", err)
		}
		hashes = append(hashes, hash)
		rows++
		bytes += size
	}
	if err := errors.Join(rs.Err(), rs.Close()); err != nil {
		return nil, 0, 0, fmt.Errorf("select victims: %w", err)
	}
	return hashes, rows, bytes, nil
}

// deleteVictims records the eviction of the rows of hashes in the change
// feed, one "evict" change per key, and deletes them, one statement each.
func (t *Table[V]) deleteVictims(ctx context.Context, q Querier, hashes []any) error {
	d, c := t.d, t.d.QuoteIdent
	if d == dialect.Postgres {
		return t.pgDeleteVictims(ctx, q, hashes)
	}
	in := " WHERE " + c("key_hash") + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(hashes)), ", ") + ")"
	if t.feed != nil {
		record := d.Rebind("INSERT INTO " + c(changesTable) + " (" + c("table_name") + ", " + c("op") + ", " +
			c("key_hash") + ", " + c("key_text") + ") SELECT ?, '" + opEvict + "', " + c("key_hash") + ", " + c("key_text") +
			" FROM " + c(t.name) + in)
		args := append([]any{t.name}, hashes...)
		if _, err := q.ExecContext(ctx, record, args...); err != nil {
			return fmt.Errorf("record evictions: %w", t.feedError(err))
		}
	}
	if _, err := q.ExecContext(ctx, d.Rebind("DELETE FROM "+c(t.name)+in), hashes...); err != nil {
		return fmt.Errorf("delete victims: %w", err)
	}
	return nil
}

// pruneAfterEvict deletes the changes older than the feed's window after
// an eviction, whose records take ids that the prune of single changes
// may skip. It is best effort, as pruneFeed is.
func (t *Table[V]) pruneAfterEvict(ctx context.Context) {
	if t.feed.window < 0 {
		return
	}
	var last sql.NullInt64
	q := "SELECT MAX(" + t.d.QuoteIdent("id") + ") FROM " + t.d.QuoteIdent(changesTable)
	if err := t.db.QueryRowContext(ctx, q).Scan(&last); err != nil || !last.Valid {
		return
	}
	if cut := last.Int64 - t.feed.window; cut > 0 {
		_, _ = t.db.ExecContext(ctx, t.feed.prune, cut)
	}
}

// pgDeleteVictims is deleteVictims on PostgreSQL: one statement, whose
// DELETE … RETURNING feeds the records of the change feed, with the key
// hashes as one array.
func (t *Table[V]) pgDeleteVictims(ctx context.Context, q Querier, hashes []any) error {
	c := t.d.QuoteIdent
	var arr pgArray
	for _, h := range hashes {
		arr.bytes(h.([]byte))
	}
	del := "DELETE FROM " + c(t.name) + " WHERE " + c("key_hash") + " = ANY($1::text::bytea[])"
	if t.feed == nil {
		if _, err := q.ExecContext(ctx, del, arr.String()); err != nil {
			return fmt.Errorf("delete victims: %w", err)
		}
		return nil
	}
	query := "WITH " + c("evicted") + " AS (" + del + " RETURNING " + c("key_hash") + ", " + c("key_text") + ") " +
		"INSERT INTO " + c(changesTable) + " (" + c("table_name") + ", " + c("op") + ", " + c("key_hash") + ", " +
		c("key_text") + ") SELECT $2, '" + opEvict + "', " + c("key_hash") + ", " + c("key_text") + " FROM " + c("evicted")
	if _, err := q.ExecContext(ctx, query, arr.String(), t.name); err != nil {
		return fmt.Errorf("delete victims: %w", t.feedError(err))
	}
	return nil
}

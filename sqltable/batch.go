package sqltable

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/keyfmt"
	"github.com/klepto-sql/klepto/keymap"
)

// maxBatchRows is the most rows one multi-row statement writes or reads.
// Larger statements gain little and hold locks longer.
const maxBatchRows = 500

// row is one row to write by a multi-row upsert.
type row struct {
	hash  []byte // key_hash
	text  string // key_text, as stored
	args  any    // args: nil or a JSON string (batchCopy only)
	value any    // value: a JSON string or []byte
	size  int64  // size_bytes
	// Timestamps as bind arguments (batchCopy only; batchPut rows share
	// the time of the call).
	created, updated, expires any
}

// bytes estimates the bytes r adds to a statement.
func (r *row) bytes() int {
	n := len(r.text) + int(r.size) + rowOverhead
	if s, ok := r.args.(string); ok {
		n += len(s)
	}
	return n
}

// PutMany stores every entry, as Put would, with far fewer statements: rows
// are sorted by key hash (so that concurrent batches lock rows in one order
// and cannot deadlock), a key given twice keeps its last value, and up to
// 500 rows (250 on PostgreSQL) go into each statement, fewer for large
// values on the servers (statements of about 512 KB). On PostgreSQL a
// batch of small JSON values (at most 256 bytes on average) goes as one
// JSON array of up to 1,000 rows. When
// the Table is not bound to a transaction and the batch needs several
// statements, they run in one transaction, retried as a whole after a
// transient error: either every entry is stored, or none.
//
// Every value is encoded and checked against the size limits before
// anything is sent, so a refused batch changes nothing.
func (t *Table[V]) PutMany(ctx context.Context, entries []cache.Entry[V]) (err error) {
	if t.obs != nil && len(entries) > 0 {
		defer t.observePut(time.Now(), len(entries), &err)
	}
	if t.closed.Load() {
		return t.closedf("put %d entries", len(entries))
	}
	if len(entries) == 0 {
		return nil
	}
	rows, err := t.putRows(entries)
	if err != nil {
		return err
	}
	if err := t.writeRows(ctx, t.putKind(rows), rows, opBatch); err != nil {
		return t.errorf("put %d entries: %w", len(rows), err)
	}
	return nil
}

// putRows returns the rows of entries, sorted by key hash, with the last of
// several entries of one key, and their values encoded.
func (t *Table[V]) putRows(entries []cache.Entry[V]) ([]row, error) {
	order := hashOrder(len(entries), func(i int) *[32]byte { return &entries[i].Key.Hash })
	now := t.now()
	stamp, expires := t.d.TimeArg(now), t.expiry(now)
	rows := make([]row, 0, len(order))
	for i, j := range order {
		e := &entries[j]
		if i+1 < len(order) && entries[order[i+1]].Key.Hash == e.Key.Hash {
			continue // a later entry of this key wins
		}
		v, size, err := t.encode(e.Value)
		if err != nil {
			return nil, t.errorf("put %s: encode value: %w", keyfmt.Key(e.Key), err)
		}
		r := row{hash: e.Key.Hash[:], text: EncodeKeyText(e.Key.Text), value: v, size: int64(size),
			created: stamp, updated: stamp, expires: expires}
		if err := t.checkSize(len(r.text), size); err != nil {
			return nil, t.errorf("put %s: %w", keyfmt.Key(e.Key), err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// PutMany on PostgreSQL. Batches of small JSON values go as one JSON
// array (batchPutJSON, see pgJSONUpsert): 1,000 rows of 100-byte values
// in 0.8 of the time of the best multi-row VALUES. The server parses the
// array more slowly than separate parameters as values grow (at 1 KB the
// array takes 1.3-1.5 times as long), so batches whose values average more
// than pgJSONMaxValue bytes go as multi-row VALUES of at most pgPutRows
// rows.
const (
	pgPutRows      = 250
	pgJSONRows     = 1000
	pgJSONMaxValue = 256
)

// stmtBytes is about the size of the multi-row VALUES statements that the
// servers run fastest: with values of 10 KB, statements of 50 rows (500
// KB) took 0.7-0.9 of the time of statements of 250 or 500, on PostgreSQL
// and MariaDB alike (BENCHMARKS.md, "PutMany of 1,000 entries"); rounded
// down to a power of two, that is 32 rows. SQLite, in the process, gains
// nothing from smaller statements.
const stmtBytes = 512 << 10

// maxGetRows is the most keys one GetMany statement reads.
const maxGetRows = 1000

// batchRows returns the most rows of one statement of kind k.
func (t *Table[V]) batchRows(k batchKind) int {
	switch {
	case k == batchGet:
		return min(maxGetRows, t.d.MaxPlaceholders()-1)
	case t.pgArrays(k):
		return pgBatchRows
	case k == batchPutJSON:
		return pgJSONRows
	case t.d == dialect.Postgres:
		return pgPutRows
	}
	return min(maxBatchRows, t.d.MaxPlaceholders()/len(k.columns()))
}

// pgArrays reports whether statements of kind k send arrays (see
// pgUpsert): CopyTo and imports on PostgreSQL. PutMany sends multi-row
// VALUES of placeholders, or on PostgreSQL small JSON values as one JSON
// array (batchPutJSON): PostgreSQL parses a large value faster as a
// parameter of its own than as an element of an array.
func (t *Table[V]) pgArrays(k batchKind) bool {
	return t.d == dialect.Postgres && k == batchCopy
}

// batchBytes returns the most bytes of one multi-row write, or 0 for no
// limit: max_allowed_packet on MySQL.
func (t *Table[V]) batchBytes() int {
	if t.d == dialect.Postgres {
		return pgBatchBytes
	}
	return t.maxPacket
}

// chunkRows returns the rows of each statement of kind k that writes rows:
// t.batchRows(k), or on the servers, when the rows average more than
// stmtBytes / t.batchRows(k) bytes, the largest power of two of rows, at
// least minChunkRows, that fits stmtBytes. Sizes are powers of two so that
// the statements of a few sizes, kept prepared, serve every batch (see
// sized); t.batchBytes still bounds each statement.
func (t *Table[V]) chunkRows(k batchKind, rows []row) int {
	limit := t.batchRows(k)
	if t.d == dialect.SQLite || k == batchPutJSON || t.pgArrays(k) || len(rows) == 0 {
		return limit
	}
	size := stmtOverhead
	for i := range rows {
		size += rows[i].bytes()
	}
	fit := stmtBytes / max(1, size/len(rows))
	if fit >= limit {
		return limit
	}
	n := minChunkRows
	for n*2 <= fit {
		n *= 2
	}
	return n
}

// minChunkRows is the fewest rows chunkRows gives a statement, so that
// batches of very large values still use a few prepared sizes; a statement
// of them that would exceed t.batchBytes (max_allowed_packet on MySQL) is
// cut shorter by chunks.
const minChunkRows = 8

// putKind returns the kind of the statements that write rows for PutMany:
// batchPutJSON for small JSON values in a jsonb column on PostgreSQL, else
// batchPut.
func (t *Table[V]) putKind(rows []row) batchKind {
	if !t.jsonbValue || t.codec.Binary() || len(rows) < 2 {
		return batchPut
	}
	if valueBytes(rows) > int64(len(rows))*pgJSONMaxValue {
		return batchPut
	}
	return batchPutJSON
}

// chunks splits rows, in order, into the rows of each statement: at most
// t.chunkRows rows, and no more bytes than t.batchBytes.
func (t *Table[V]) chunks(k batchKind, rows []row) [][]row {
	limit, maxBytes := t.chunkRows(k, rows), t.batchBytes()
	var out [][]row
	for len(rows) > 0 {
		n, size := 0, stmtOverhead
		for n < len(rows) && n < limit {
			size += rows[n].bytes()
			if maxBytes > 0 && n > 0 && size > maxBytes {
				break
			}
			n++
		}
		out = append(out, rows[:n])
		rows = rows[n:]
	}
	return out
}

// writeRows upserts rows, sorted by key hash with distinct keys, with
// statements of kind k: in one transaction when they need several
// statements and the Table may begin one, retried as a whole after a
// transient error. When the database has a change feed, the rows are
// written in one transaction, with a record of op for the whole table if
// they overwrote any key.
func (t *Table[V]) writeRows(ctx context.Context, k batchKind, rows []row, op string) error {
	if err := t.writeChunks(ctx, k, rows, op); err != nil {
		return err
	}
	return t.wrote(ctx, int64(len(rows)), valueBytes(rows))
}

// writeChunks is writeRows but for the bounds.
func (t *Table[V]) writeChunks(ctx context.Context, k batchKind, rows []row, op string) error {
	chunks := t.chunks(k, rows)
	// Prepare first: inside the transaction, the pool may have no other
	// connection to prepare on. With a feed, SQLite and PostgreSQL first
	// insert the new keys only, and learn from the count whether any key
	// was present; MySQL counts an overwritten row twice.
	twoStep := t.feed != nil && t.d != dialect.MySQL
	stmts := make([]stmt, len(chunks))
	var fresh []stmt
	if twoStep {
		fresh = make([]stmt, len(chunks))
	}
	for i, c := range chunks {
		var err error
		if stmts[i], err = t.batchStmt(ctx, batchKey{k, len(c), false}); err != nil {
			return err
		}
		if twoStep {
			if fresh[i], err = t.batchStmt(ctx, batchKey{k, len(c), true}); err != nil {
				return err
			}
		}
	}
	var args []any
	write := func(ctx context.Context, q Querier) (overwrote bool, err error) {
		for i, c := range chunks {
			switch {
			case k == batchPutJSON:
				args = pgJSONArgs(args[:0], c)
			case t.pgArrays(k):
				args = pgArgs(args[:0], c)
			default:
				args = appendArgs(args[:0], k, c)
			}
			if twoStep {
				n, err := rowsAffected(fresh[i].execOn(ctx, q, args...))
				if err != nil {
					return false, t.writeError(err, valueBytes(c))
				}
				if n == int64(len(c)) {
					continue
				}
				overwrote = true // write them all: the new ones again, alike
			}
			n, err := rowsAffected(stmts[i].execOn(ctx, q, args...))
			if err != nil {
				return false, t.writeError(err, valueBytes(c))
			}
			if t.d == dialect.MySQL && n > int64(len(c)) {
				overwrote = true
			}
		}
		return overwrote, nil
	}
	switch {
	case t.feed != nil:
		return t.change(ctx, op, nil, write)
	case t.conn == nil: // the caller's transaction
		_, err := write(ctx, t.db)
		return err
	case len(chunks) == 1: // one statement is atomic by itself
		return t.do(ctx, true, func(ctx context.Context) error { _, err := write(ctx, t.db); return err })
	}
	return t.do(ctx, true, func(ctx context.Context) error {
		return t.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { _, err := write(ctx, tx); return err })
	})
}

// valueBytes returns the size of the values of rows.
func valueBytes(rows []row) int64 {
	var n int64
	for i := range rows {
		n += rows[i].size
	}
	return n
}

// rowsAffected returns the rows affected of a statement's result.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// appendArgs appends the arguments of rows, for a statement of kind k.
func appendArgs(args []any, k batchKind, rows []row) []any {
	for i := range rows {
		r := &rows[i]
		if k == batchPut {
			args = append(args, r.hash, r.text, r.value, r.size, r.created, r.updated, r.expires)
		} else {
			args = append(args, r.hash, r.text, r.args, r.value, r.size, r.created, r.updated, r.expires)
		}
	}
	return args
}

// sized reports whether rows is a size chunkRows may choose for writes of
// kind k below t.batchRows(k): a power of two of at least 8 rows, on the
// servers. Statements of these sizes are kept prepared, a handful per
// kind, which MySQL counts against max_prepared_stmt_count.
func (t *Table[V]) sized(k batchKind, rows int) bool {
	return k != batchGet && t.d != dialect.SQLite && rows >= minChunkRows && rows&(rows-1) == 0
}

// batchStmt returns the statement of key. A statement for a full chunk
// (t.batchRows rows) or of a size chunkRows chooses (see sized), or
// PostgreSQL's statements, one for any number of rows, is prepared once and
// kept when the Table may prepare statements (over a *sql.DB or *sql.Conn,
// without Options.NoPrepare); others are plain SQL.
func (t *Table[V]) batchStmt(ctx context.Context, key batchKey) (stmt, error) {
	k, rows := key.kind, key.rows
	pg := t.d == dialect.Postgres && (k == batchGet || k == batchPutJSON || t.pgArrays(k))
	if pg {
		key.rows = 0
	}
	keep := t.conn != nil && !t.noPrepare && (pg || rows == t.batchRows(k) || t.sized(k, rows))
	if keep {
		t.mu.Lock()
		ps := t.batch[key]
		t.mu.Unlock()
		if ps != nil {
			return stmt{ps: ps}, nil
		}
	}
	var query string
	var err error
	switch {
	case pg && k == batchGet:
		query = t.sql.pgGetMany()
	case pg && k == batchPutJSON:
		query = t.sql.pgJSONUpsert(key.fresh)
	case pg:
		query = t.sql.pgUpsert(t.codec, t.jsonbValue, t.jsonbArgs, key.fresh)
	default:
		query, err = t.sql.batchSQL(key)
	}
	if err != nil {
		return stmt{}, err
	}
	if !keep {
		return stmt{query: query}, nil
	}
	ps, err := t.conn.PrepareContext(ctx, query)
	if err != nil {
		return stmt{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed.Load():
		return stmt{}, errors.Join(errTableClosed, ps.Close())
	case t.batch[key] != nil: // prepared meanwhile by another call
		return stmt{ps: t.batch[key]}, ps.Close()
	}
	if t.batch == nil {
		t.batch = make(map[batchKey]*sql.Stmt)
	}
	t.batch[key] = ps
	return stmt{query: query, ps: ps}, nil
}

// GetMany returns the values stored under keys, by key hash (Key.Hash);
// keys that are missing or expired are absent from the map. It reads up to
// 1,000 keys per statement: on PostgreSQL, key_hash = ANY of one array;
// elsewhere, key_hash IN a list of placeholders.
func (t *Table[V]) GetMany(ctx context.Context, keys []keymap.Key) (map[[32]byte]V, error) {
	if t.obs == nil {
		return t.getMany(ctx, keys)
	}
	start := time.Now()
	out, err := t.getMany(ctx, keys)
	t.observeGetMany(start, keys, out, err)
	return out, err
}

// getMany is GetMany.
func (t *Table[V]) getMany(ctx context.Context, keys []keymap.Key) (map[[32]byte]V, error) {
	if t.closed.Load() {
		return nil, t.closedf("get %d keys", len(keys))
	}
	// In the order given: a key given twice is read twice, which costs
	// less than sorting a thousand keys to find it.
	hashes := make([][32]byte, len(keys))
	for i, k := range keys {
		hashes[i] = k.Hash
	}
	limit := t.batchRows(batchGet)
	out := make(map[[32]byte]V, len(hashes))
	for chunk := range slices.Chunk(hashes, limit) {
		if r := t.replica; r != nil {
			// The replica first; the primary for the keys it lacks.
			err := t.do(ctx, true, func(ctx context.Context) error {
				s := stmt{query: t.sql.getMany(len(chunk))}
				if t.d == dialect.Postgres { // one statement for any number of keys
					var err error
					if s, err = r.stmt(ctx, t.sql.pgGetMany()); err != nil {
						return err
					}
				}
				return t.getChunk(ctx, s, r.db, chunk, out)
			})
			if err != nil && !dialect.IsMissingTable(err) {
				return nil, t.getManyError(keys, err)
			}
			chunk = slices.DeleteFunc(chunk, func(h [32]byte) bool { _, ok := out[h]; return ok })
			if len(chunk) == 0 {
				continue
			}
		}
		s, err := t.batchStmt(ctx, batchKey{batchGet, len(chunk), false})
		if err != nil {
			return nil, t.errorf("get %d keys: %w", len(keys), err)
		}
		err = t.do(ctx, true, func(ctx context.Context) error { return t.getChunk(ctx, s, t.db, chunk, out) })
		if err != nil {
			return nil, t.getManyError(keys, err)
		}
	}
	if t.access != nil {
		for h := range out {
			t.accessed(h)
		}
	}
	return out, nil
}

// getChunk reads the values of the key hashes of chunk with s, a statement
// of GetMany, on q, into out. A value that does not decode is an error
// *chunkDecodeError.
func (t *Table[V]) getChunk(ctx context.Context, s stmt, q Querier, chunk [][32]byte, out map[[32]byte]V) error {
	args := make([]any, 0, 1+len(chunk))
	args = append(args, t.nowArg())
	if t.d == dialect.Postgres {
		a := pgArray{b: make([]byte, 0, 2+len(chunk)*70)} // ,"\\x…"
		for i := range chunk {
			a.bytes(chunk[i][:])
		}
		args = append(args, a.String())
	} else {
		for i := range chunk {
			args = append(args, chunk[i][:])
		}
	}
	rows, err := s.queryRows(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var hash, raw sql.RawBytes
		if err := rows.Scan(&hash, &raw); err != nil {
			return err
		}
		var v V
		if err := t.decode(raw, &v); err != nil {
			return &chunkDecodeError{hash: [32]byte(hash), err: err}
		}
		out[[32]byte(hash)] = v
	}
	return rows.Err()
}

// chunkDecodeError is a value GetMany read that does not decode.
type chunkDecodeError struct {
	hash [32]byte
	err  error
}

func (e *chunkDecodeError) Error() string { return e.err.Error() }

// getManyError returns the error of GetMany of keys that failed with err.
func (t *Table[V]) getManyError(keys []keymap.Key, err error) error {
	if de, ok := errors.AsType[*chunkDecodeError](err); ok {
		for _, k := range keys {
			if k.Hash == de.hash {
				return t.decodeError(k.Text, de.err)
			}
		}
	}
	return t.errorf("get %d keys: %w", len(keys), err)
}

// CopyOptions configure [Table.CopyTo]. A nil *CopyOptions and the zero
// value both mean: stop at the first bad row.
type CopyOptions struct {
	// OnBadRow, if set, is called with each row of the source that CopyTo
	// cannot read (see BadRowError), on the goroutine of CopyTo: if it
	// returns nil, the row is skipped and the copy goes on; otherwise
	// CopyTo stops, and returns that error as it is. Nil means stop with
	// the *BadRowError.
	OnBadRow func(*BadRowError) error

	// Progress, if set, is called after each page is written, with the
	// number of entries the page wrote, on the goroutine of CopyTo: the
	// sum of its calls is the count CopyTo returns. For progress bars; a
	// total comes from [Table.Len] beforehand.
	Progress func(entries int)
}

// CopyTo copies the entries of t that have not expired into dst, which may
// be a table of another database, and returns how many it copied. Entries
// keep their arguments and timestamps; an entry dst already holds is
// overwritten. Values are copied as stored when both tables have the same
// codec. Otherwise each is decoded by t and encoded by dst; a Table of
// Options.Stored decodes to, and encodes from, the stored bytes or JSON
// text. opts may be nil.
//
// CopyTo reads t in pages of 500 entries, in key hash order, and writes
// each page in one transaction of dst, so it needs no connection of t while
// it writes, and memory for one page. Entries written to t during the copy
// may or may not be copied. Copying is idempotent: after an interruption,
// run it again.
//
// A row of t that cannot be read (see [BadRowError]) is never copied: it
// stops the copy with a *BadRowError, after the pages before it were
// written, unless opts.OnBadRow skips it.
func (t *Table[V]) CopyTo(ctx context.Context, dst *Table[V], opts *CopyOptions) (n int, err error) {
	if dst == nil {
		return 0, t.errorf("copy: nil destination table")
	}
	var onBad func(*BadRowError) error
	var progress func(int)
	if opts != nil {
		onBad, progress = opts.OnBadRow, opts.Progress
	}
	// The table named once, unless dst's name is another.
	op := "copy"
	if dst.name != t.name {
		op = "copy to " + dst.name
	}
	switch {
	case t.closed.Load():
		return 0, t.closedf("%s", op)
	case dst.closed.Load():
		return 0, t.errorf("%s: destination: %w", op, errTableClosed)
	}
	var after []byte
	for {
		page, err := t.readPage(ctx, after, dst, op)
		if err != nil {
			return n, t.errorf("%s: %w", op, err)
		}
		rows := page.rows
		if page.bad != nil {
			rows = rows[:0]
			for i, r := range page.rows {
				if bad := page.bad[i]; bad != nil {
					if onBad == nil {
						return n, bad
					}
					if err := onBad(bad); err != nil {
						return n, err
					}
					continue
				}
				rows = append(rows, r)
			}
		}
		if len(rows) > 0 {
			if err := dst.writeRows(ctx, batchCopy, rows, opCopy); err != nil {
				return n, t.errorf("%s: write: %w", op, err)
			}
			n += len(rows)
			if progress != nil {
				progress(len(rows))
			}
		}
		if len(page.rows) < pageRows {
			return n, nil
		}
		after = page.last
	}
}

// copyPage is a page of rows read by readPage: rows[i] is to be written
// unless bad is not nil and bad[i] is, the error of a bad row.
type copyPage struct {
	rows []row
	bad  []*BadRowError
	last []byte // the key_hash of the last row read
}

// readPage returns the rows of t after the key hash after (from the first
// when after is nil), ready to be written to dst.
func (t *Table[V]) readPage(ctx context.Context, after []byte, dst *Table[V], op string) (copyPage, error) {
	var page copyPage
	err := t.do(ctx, true, func(ctx context.Context) error {
		page = copyPage{rows: page.rows[:0]}
		rows, err := t.queryPage(ctx, t.nowArg(), after)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s storedRow
			if err := s.scan(rows); err != nil {
				return err
			}
			page.last = s.after()
			r, err := t.copyRow(&s, dst, op)
			if err != nil {
				var bad *BadRowError
				if !errors.As(err, &bad) {
					return err
				}
				if page.bad == nil {
					page.bad = make([]*BadRowError, len(page.rows), pageRows)
				}
				page.bad = append(page.bad, bad)
			} else if page.bad != nil {
				page.bad = append(page.bad, nil)
			}
			page.rows = append(page.rows, r)
		}
		return rows.Err()
	})
	return page, err
}

// copyRow returns the row of dst that s, a row of t, becomes, or a
// *BadRowError if s is not a valid row of t.
func (t *Table[V]) copyRow(s *storedRow, dst *Table[V], op string) (row, error) {
	k, err := t.checkKey(s, op)
	if err != nil {
		return row{}, err
	}
	r := row{hash: s.hash, text: s.text.String}
	if s.args.Valid {
		r.args = s.args.String
	}
	if err := t.transcode(&r, s.value, dst); err != nil {
		var bad *BadRowError
		if errors.As(err, &bad) {
			bad.Op = op
		}
		return row{}, err
	}
	r.created, r.updated, r.expires = dst.d.TimeArg(k.created), dst.d.TimeArg(k.updated), dst.d.TimeArg(k.expires)
	return r, nil
}

// transcode sets the value of r, read from t as value, to the bind argument
// dst needs, decoding and encoding it only if the codecs differ. A value
// that t does not decode is a *BadRowError.
func (t *Table[V]) transcode(r *row, value []byte, dst *Table[V]) error {
	switch {
	case t.codec == dst.codec && dst.codec.Binary():
		r.value, r.size = value, int64(len(value))
	case t.codec == dst.codec:
		r.value, r.size = string(value), int64(len(value))
	default:
		var v V
		if err := t.decode(value, &v); err != nil {
			text, _ := DecodeKeyText(r.text)
			return &BadRowError{Table: t.name, Key: text, Hash: r.hash, Err: fmt.Errorf("decode value: %w", err)}
		}
		encoded, size, err := dst.encode(v)
		if err != nil {
			return fmt.Errorf("encode value of key %s: %w", keyfmt.Text(r.text), err)
		}
		r.value, r.size = encoded, int64(size)
	}
	if err := dst.checkSize(r.bytes()-int(r.size)-rowOverhead, int(r.size)); err != nil {
		return fmt.Errorf("key %s: %w", keyfmt.Text(r.text), err)
	}
	return nil
}

// hashOrder returns the indexes 0 to n-1 sorted by the key hash that hash
// gives for each, the indexes of one hash in increasing order. It sorts
// by the first 8 bytes of the hashes first, which tell nearly all SHA-256
// hashes apart at the cost of an integer comparison.
func hashOrder(n int, hash func(i int) *[32]byte) []int {
	type item struct {
		prefix uint64
		i      int
	}
	items := make([]item, n)
	for i := range items {
		items[i] = item{binary.BigEndian.Uint64(hash(i)[:8]), i}
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := cmp.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		if c := bytes.Compare(hash(a.i)[8:], hash(b.i)[8:]); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	order := make([]int, n)
	for k, it := range items {
		order[k] = it.i
	}
	return order
}

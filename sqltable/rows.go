package sqltable

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"
	"unicode/utf8"

	"github.com/klepto-sql/klepto/internal/keyfmt"
	"github.com/klepto-sql/klepto/keymap"
)

// Row is one entry of a Table with all that its row records: the key, the
// arguments, the value and the timestamps. [Table.Rows] reads rows and
// [Table.PutRows] writes them, to back a table up, restore it or move it to
// another database without losing its history.
//
// Timestamps keep the precision of the database that stored them:
// milliseconds on SQLite, microseconds on MySQL and PostgreSQL.
type Row[V any] struct {
	Key keymap.Key
	// Args is the args column: the JSON of the arguments of the call that
	// computed the value (see Table.PutArgs), or nil for none.
	Args  json.RawMessage
	Value V
	// CreatedAt is when the key was first written, UpdatedAt when its value
	// was last written, and ExpiresAt when the entry expires, the zero time
	// for never. Rows yields them in UTC.
	CreatedAt, UpdatedAt, ExpiresAt time.Time
}

// Rows returns an iterator over the rows of the entries that have not
// expired, in the order of their key hashes. It reads them 500 at a time,
// a query for each page, and holds no connection while the loop body runs,
// so the body may use the same pool, even one limited to one connection.
// Entries written during the loop may or may not be yielded.
//
// A row the Table cannot read, such as one written by other tools whose
// key_hash is not the SHA-256 of its key_text, is yielded as a zero Row
// with a *[BadRowError] naming it; if the loop goes on, so does the
// iterator, with the next row. Any other error, such as a failed query,
// ends the iteration.
func (t *Table[V]) Rows(ctx context.Context) iter.Seq2[Row[V], error] {
	return func(yield func(Row[V], error) bool) {
		now := t.nowArg()
		var after []byte
		for {
			page, err := t.rowsPage(ctx, now, after)
			if err != nil {
				yield(Row[V]{}, err)
				return
			}
			for _, r := range page.rows {
				if !yield(r.row, r.err) {
					return
				}
			}
			if page.read < pageRows {
				return
			}
			after = page.last
		}
	}
}

// rowOrBad is a row Rows yields: a row, or the error of a bad one.
type rowOrBad[V any] struct {
	row Row[V]
	err error // a *BadRowError
}

// rowsPageOf is a page of rows read by rowsPage.
type rowsPageOf[V any] struct {
	rows []rowOrBad[V]
	read int    // the rows read, bad ones included
	last []byte // the key_hash of the last row read
}

// rowsPage reads the rows that have not expired at now after the key hash
// after (from the first when after is nil).
func (t *Table[V]) rowsPage(ctx context.Context, now any, after []byte) (rowsPageOf[V], error) {
	var page rowsPageOf[V]
	if t.closed.Load() {
		return page, t.closedf("rows")
	}
	err := t.do(ctx, true, func(ctx context.Context) error {
		page = rowsPageOf[V]{rows: page.rows[:0]}
		rows, err := t.queryPage(ctx, now, after)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s storedRow
			if err := s.scan(rows); err != nil {
				return err
			}
			page.read++
			page.last = s.after()
			r, err := t.readRow(&s, "rows")
			page.rows = append(page.rows, rowOrBad[V]{r, err})
		}
		return rows.Err()
	})
	if err != nil {
		return page, t.errorf("rows: %w", err)
	}
	return page, nil
}

// queryPage runs the query of the page of rows that have not expired at
// now after the key hash after (from the first when after is nil).
func (t *Table[V]) queryPage(ctx context.Context, now any, after []byte) (*sql.Rows, error) {
	if after == nil {
		return t.query(ctx, t.sql.page, now)
	}
	return t.query(ctx, t.sql.pageAfter, now, after)
}

// storedRow is a row of the table as the driver returns its columns
// (copyColumns), before any of them is checked.
type storedRow struct {
	hash                      []byte
	text                      sql.NullString // key_text, as stored
	args                      sql.NullString
	value                     []byte
	size                      any // not read: the length of value is the size
	created, updated, expires any
}

// scan scans the current row of rows, selected as by queries.page. It
// fails only as the driver fails: each column is checked by readRow.
func (s *storedRow) scan(rows *sql.Rows) error {
	return rows.Scan(&s.hash, &s.text, &s.args, &s.value, &s.size, &s.created, &s.updated, &s.expires)
}

// after returns the key hash the next page starts after.
func (s *storedRow) after() []byte {
	if s.hash == nil {
		return []byte{} // NULL sorts first: go on after it
	}
	return s.hash
}

// storedKey is the checked key and timestamps of a storedRow.
type storedKey struct {
	key                       keymap.Key
	created, updated, expires time.Time
}

// checkKey checks the key and timestamps of s, and returns a
// *BadRowError of operation op if they are not those of a valid row.
func (t *Table[V]) checkKey(s *storedRow, op string) (storedKey, error) {
	var k storedKey
	bad := func(key string, err error) (storedKey, error) {
		return storedKey{}, &BadRowError{Op: op, Table: t.name, Key: key, Hash: s.hash, Err: err}
	}
	if !s.text.Valid {
		return bad("", errors.New("key_text is NULL"))
	}
	text, err := decodeKeyText(s.text.String)
	if err != nil {
		return bad(s.text.String, errors.Unwrap(err))
	}
	k.key = keymap.NewKey(text)
	if !bytes.Equal(s.hash, k.key.Hash[:]) {
		// Written by other tools: a row keyed by some other hash would
		// be re-keyed by PutRows, and could not be found by Get.
		return bad(text, fmt.Errorf("key_hash %x is not the SHA-256 of key_text", s.hash))
	}
	for _, c := range []struct {
		name string
		src  any
		dst  *time.Time
	}{{"created_at", s.created, &k.created}, {"updated_at", s.updated, &k.updated}, {"expires_at", s.expires, &k.expires}} {
		if err := t.d.ScanTime(c.dst).Scan(c.src); err != nil {
			return bad(text, fmt.Errorf("%s: %w", c.name, err))
		}
		if c.name != "expires_at" && c.dst.IsZero() {
			return bad(text, fmt.Errorf("%s is NULL", c.name))
		}
	}
	return k, nil
}

// readRow returns the Row of s, or a *BadRowError of operation op if s is
// not a valid row or its value does not decode.
func (t *Table[V]) readRow(s *storedRow, op string) (Row[V], error) {
	k, err := t.checkKey(s, op)
	if err != nil {
		return Row[V]{}, err
	}
	r := Row[V]{Key: k.key, CreatedAt: k.created, UpdatedAt: k.updated, ExpiresAt: k.expires}
	if s.args.Valid {
		r.Args = json.RawMessage(decodeArgs(s.args.String))
	}
	if err := t.decode(s.value, &r.Value); err != nil {
		return Row[V]{}, &BadRowError{Op: op, Table: t.name, Key: k.key.Text, Hash: s.hash, Err: fmt.Errorf("decode value: %w", err)}
	}
	return r, nil
}

// BadRowError reports a row that a Table cannot read, written by other
// tools or damaged: its key_text starts with [EscapePrefix] without valid
// base64 after it; its key_hash is not the SHA-256 of its key text; a
// timestamp is not one; or its value does not decode. [Table.Rows] yields it and can go on past
// it; [Table.CopyTo] stops at it, unless [CopyOptions].OnBadRow skips it.
type BadRowError struct {
	Op    string // the operation: "rows", "copy" or "copy to <table>"
	Table string // the table
	Key   string // the key text, or the key_text column as stored if it does not decode
	Hash  []byte // the key_hash column as stored
	Err   error  // what is wrong with the row
}

// Error returns, for example,
// `sqltable fib: rows: bad row, key "(n=2)": key_hash 0a1b… is not the SHA-256 of key_text`,
// with the key cut to its first 64 bytes.
func (e *BadRowError) Error() string {
	return fmt.Sprintf("sqltable %s: %s: bad row, key %s: %v", e.Table, e.Op, keyfmt.Text(e.Key), e.Err)
}

// Unwrap returns Err.
func (e *BadRowError) Unwrap() error { return e.Err }

// PutRows stores rows as they are, with their arguments and timestamps,
// as [Table.CopyTo] stores the entries it copies: a row whose key the table
// holds overwrites its arguments, value and timestamps, except created_at,
// which keeps the time the key was first written. A zero CreatedAt or
// UpdatedAt is the time of the call (Options.Clock); a zero ExpiresAt
// means the entry never expires, whatever Options.TTL. Args must be valid
// JSON, or nil (JSON null too) for none.
//
// As with [Table.PutMany], rows are sorted by key hash, a key given twice
// keeps its last row, every row is encoded and checked before anything is
// sent, and when the Table is not bound to a transaction and the rows need
// several statements, they run in one transaction: either every row is
// stored, or none.
func (t *Table[V]) PutRows(ctx context.Context, rows []Row[V]) error {
	if t.closed.Load() {
		return t.closedf("put %d rows", len(rows))
	}
	if len(rows) == 0 {
		return nil
	}
	order := hashOrder(len(rows), func(i int) *[32]byte { return &rows[i].Key.Hash })
	now := t.now()
	out := make([]row, 0, len(order))
	for i, j := range order {
		r := &rows[j]
		if i+1 < len(order) && rows[order[i+1]].Key.Hash == r.Key.Hash {
			continue // a later row of this key wins
		}
		w := row{hash: r.Key.Hash[:], text: EncodeKeyText(r.Key.Text), expires: t.d.TimeArg(r.ExpiresAt)}
		if args := bytes.TrimSpace(r.Args); len(args) > 0 && !bytes.Equal(args, []byte("null")) {
			if !json.Valid(args) || !utf8.Valid(args) {
				return t.errorf("put row %s: Args is not valid JSON", keyfmt.Key(r.Key))
			}
			w.args = encodeArgs(string(args))
		}
		value, size, err := t.encode(r.Value)
		if err != nil {
			return t.errorf("put row %s: encode value: %w", keyfmt.Key(r.Key), err)
		}
		w.value, w.size = value, int64(size)
		w.created, w.updated = t.d.TimeArg(orNow(r.CreatedAt, now)), t.d.TimeArg(orNow(r.UpdatedAt, now))
		if err := t.checkSize(w.bytes()-size-rowOverhead, size); err != nil {
			return t.errorf("put row %s: %w", keyfmt.Key(r.Key), err)
		}
		out = append(out, w)
	}
	if err := t.writeRows(ctx, batchCopy, out, opImport); err != nil {
		return t.errorf("put %d rows: %w", len(out), err)
	}
	return nil
}

// orNow returns tm, or now if tm is the zero time.
func orNow(tm, now time.Time) time.Time {
	if tm.IsZero() {
		return now
	}
	return tm
}

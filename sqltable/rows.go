package sqltable

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"time"

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
// Entries written during the loop may or may not be yielded. The iterator
// stops at the first error, such as a value that does not decode, or a row
// (written by other tools) whose key_hash is not the SHA-256 of its
// key_text, which it yields with a zero Row.
func (t *Table[V]) Rows(ctx context.Context) iter.Seq2[Row[V], error] {
	return func(yield func(Row[V], error) bool) {
		now := t.nowArg()
		var after []byte
		for {
			page, err := t.rowsPage(ctx, now, after)
			for _, r := range page {
				if !yield(r, nil) {
					return
				}
			}
			if err != nil {
				yield(Row[V]{}, err)
				return
			}
			if len(page) < pageRows {
				return
			}
			after = page[len(page)-1].Key.Hash[:]
		}
	}
}

// rowsPage reads the rows that have not expired at now after the key hash
// after (from the first when after is nil). On error it returns the rows
// it decoded before.
func (t *Table[V]) rowsPage(ctx context.Context, now any, after []byte) ([]Row[V], error) {
	if t.closed.Load() {
		return nil, t.closedf("rows")
	}
	var page []Row[V]
	var decodeErr error
	var badKey string
	err := t.do(ctx, true, func(ctx context.Context) error {
		page, decodeErr = page[:0], nil
		var rows *sql.Rows
		var err error
		if after == nil {
			rows, err = t.db.QueryContext(ctx, t.sql.page, now)
		} else {
			rows, err = t.db.QueryContext(ctx, t.sql.pageAfter, now, after)
		}
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				hash, value []byte
				stored      string
				args        sql.NullString
				size        int64
				r           Row[V]
			)
			if err := rows.Scan(&hash, &stored, &args, &value, &size,
				t.d.ScanTime(&r.CreatedAt), t.d.ScanTime(&r.UpdatedAt), t.d.ScanTime(&r.ExpiresAt)); err != nil {
				return err
			}
			text, err := decodeKeyText(stored)
			if err != nil {
				return err
			}
			r.Key = keymap.NewKey(text)
			if !bytes.Equal(hash, r.Key.Hash[:]) {
				// Written by other tools: a row keyed by some other hash
				// would be re-keyed by PutRows, and break paging here.
				return fmt.Errorf("key %s: key_hash %x is not the SHA-256 of key_text", keyfmt.Text(text), hash)
			}
			if args.Valid {
				r.Args = json.RawMessage(args.String)
			}
			if err := t.decode(value, &r.Value); err != nil {
				decodeErr, badKey = err, text
				return nil
			}
			page = append(page, r)
		}
		return rows.Err()
	})
	switch {
	case err != nil:
		return nil, t.errorf("rows: %w", err)
	case decodeErr != nil:
		return page, t.decodeError(badKey, decodeErr)
	}
	return page, nil
}

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
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := bytes.Compare(rows[a].Key.Hash[:], rows[b].Key.Hash[:]); c != 0 {
			return c
		}
		return cmp.Compare(a, b) // rows of one key in the order given
	})
	now := t.now()
	out := make([]row, 0, len(order))
	for i, j := range order {
		r := &rows[j]
		if i+1 < len(order) && rows[order[i+1]].Key.Hash == r.Key.Hash {
			continue // a later row of this key wins
		}
		w := row{hash: r.Key.Hash[:], text: EncodeKeyText(r.Key.Text), expires: t.d.TimeArg(r.ExpiresAt)}
		if args := bytes.TrimSpace(r.Args); len(args) > 0 && !bytes.Equal(args, []byte("null")) {
			if !json.Valid(args) {
				return t.errorf("put row %s: Args is not valid JSON", keyfmt.Key(r.Key))
			}
			w.args = string(args)
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

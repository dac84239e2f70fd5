package sqltable

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/internal/keyfmt"
	"github.com/klepto-sql/klepto/keymap"
)

// ErrTooLarge is wrapped by the errors of writes refused because an entry
// is larger than the Table or the database accepts, such as
// `sqltable fib: put "k": the value is 102 bytes, over Options.MaxValueBytes (100 bytes)`.
// A refused write changes nothing.
var ErrTooLarge = errors.New("sqltable: entry too large")

// Get returns the value stored under key. A key that is missing or expired
// is reported as found == false with a nil error.
//
// With Options.AccessLog, a Get that finds the entry counts a hit in
// memory, written to the row later (see AccessLog); without, Get writes
// nothing.
func (t *Table[V]) Get(ctx context.Context, key keymap.Key) (value V, found bool, err error) {
	value, _, found, err = t.GetExpiry(ctx, key)
	return value, found, err
}

// GetExpiry is Get that also returns when the entry expires: the zero time
// for an entry that never expires. A memo over the table keeps the entry in
// memory until then (see cache.Expirer).
func (t *Table[V]) GetExpiry(ctx context.Context, key keymap.Key) (value V, expiresAt time.Time, found bool, err error) {
	if t.obs != nil {
		defer t.observeGet(time.Now(), &found, &err)
	}
	if t.closed.Load() {
		return value, expiresAt, false, t.closedf("get %s", keyfmt.Key(key))
	}
	var decodeErr error
	err = t.lookup(ctx, &t.sql.get, func(ctx context.Context, s *stmt, q Querier) (bool, error) {
		var zero V
		value, found = zero, false
		rows, err := s.queryRows(ctx, q, key.Hash[:])
		if err != nil {
			return false, err
		}
		defer rows.Close()
		if !rows.Next() {
			return false, rows.Err()
		}
		var raw sql.RawBytes
		var src any
		if err := rows.Scan(&raw, &src); err != nil {
			return false, err
		}
		if found, expiresAt, err = t.live(src); err != nil || !found {
			return false, err
		}
		decodeErr = t.decode(raw, &value)
		return true, rows.Close()
	})
	switch {
	case err != nil:
		var zero V
		return zero, time.Time{}, false, t.errorf("get %s: %w", keyfmt.Key(key), err)
	case decodeErr != nil:
		var zero V
		return zero, time.Time{}, false, t.decodeError(key.Text, decodeErr)
	case !found:
		return value, time.Time{}, false, nil
	}
	t.accessed(key.Hash)
	return value, expiresAt, true, nil
}

// live reports whether an entry whose expires_at column holds src, as the
// driver returned it, has not expired, and when it expires (the zero time
// for never).
func (t *Table[V]) live(src any) (bool, time.Time, error) {
	if src == nil {
		return true, time.Time{}, nil
	}
	var expires time.Time
	if err := t.d.ScanTime(&expires).Scan(src); err != nil {
		return false, time.Time{}, fmt.Errorf("expires_at: %w", err)
	}
	return expires.After(t.now()), expires, nil
}

// decodeError reports a stored value that does not decode.
func (t *Table[V]) decodeError(keyText string, err error) error {
	return t.errorf("decode value of key %s: %w", keyfmt.Text(keyText), err)
}

// Has reports whether a value is stored under key and has not expired.
func (t *Table[V]) Has(ctx context.Context, key keymap.Key) (bool, error) {
	if t.closed.Load() {
		return false, t.closedf("has %s", keyfmt.Key(key))
	}
	var found bool
	err := t.lookup(ctx, &t.sql.has, func(ctx context.Context, s *stmt, q Querier) (bool, error) {
		var expires any
		err := s.queryRow(ctx, q, key.Hash[:]).Scan(&expires)
		if errors.Is(err, sql.ErrNoRows) {
			found = false
			return false, nil
		}
		if err != nil {
			return false, err
		}
		found, _, err = t.live(expires)
		return found, err
	})
	if err != nil {
		return false, t.errorf("has %s: %w", keyfmt.Key(key), err)
	}
	return found, nil
}

// Put stores value under key, replacing any value there. A new entry has
// no arguments (a NULL args column); a replaced one keeps its arguments.
func (t *Table[V]) Put(ctx context.Context, key keymap.Key, value V) error {
	return t.put(ctx, key, false, "", value)
}

// PutArgs stores value under key, as Put does, with the arguments of the
// call that computed it, as JSON in the args column (the JSON form of
// package keymap, under Options.ArgsOptions), so that people can query
// entries by argument.
func (t *Table[V]) PutArgs(ctx context.Context, key keymap.Key, args any, value V) error {
	text, err := t.argsKeys.AppendText(nil, args)
	if err != nil {
		return t.errorf("put %s: encode arguments: %w", keyfmt.Key(key), err)
	}
	return t.put(ctx, key, true, encodeArgs(string(text)), value)
}

func (t *Table[V]) put(ctx context.Context, key keymap.Key, withArgs bool, args string, value V) (err error) {
	if t.obs != nil {
		defer t.observePut(time.Now(), 1, &err)
	}
	if t.closed.Load() {
		return t.closedf("put %s", keyfmt.Key(key))
	}
	v, size, err := t.encode(value)
	if err != nil {
		return t.errorf("put %s: encode value: %w", keyfmt.Key(key), err)
	}
	text := EncodeKeyText(key.Text)
	if err := t.checkSize(len(text)+len(args), size); err != nil {
		return t.errorf("put %s: %w", keyfmt.Key(key), err)
	}
	now := t.now()
	stamp, expires := t.d.TimeArg(now), t.expiry(now)
	upsert, insert := &t.sql.put, &t.sql.putNew
	values := []any{key.Hash[:], text, v, int64(size), stamp, stamp, expires}
	if withArgs {
		upsert, insert = &t.sql.putArgs, &t.sql.putArgsNew
		values = []any{key.Hash[:], text, args, v, int64(size), stamp, stamp, expires}
	}
	fresh := int64(1) // rows the write may have added, for the bounds
	if t.feed == nil {
		err = t.do(ctx, true, func(ctx context.Context) error {
			_, err := upsert.exec(ctx, t.db, values...)
			return err
		})
	} else {
		// A new key needs no record in the change feed, as no memory can
		// hold it: one statement. A key already present is overwritten
		// together with the record of its change.
		var inserted bool
		err = t.do(ctx, true, func(ctx context.Context) error {
			var err error
			inserted, err = t.insertNew(ctx, insert, values...)
			return err
		})
		if err == nil && !inserted {
			fresh = 0
			err = t.change(ctx, opUpdate, &key, func(ctx context.Context, q Querier) (bool, error) {
				_, err := upsert.execOn(ctx, q, values...)
				return true, err
			})
		}
	}
	if err == nil {
		err = t.wrote(ctx, fresh, int64(size))
	} else {
		err = t.writeError(err, int64(size))
	}
	if err != nil {
		return t.errorf("put %s: %w", keyfmt.Key(key), err)
	}
	return nil
}

// rowOverhead and stmtOverhead bound the bytes a row and a statement add
// to a MySQL packet beyond the key text, arguments and value: key hash,
// timestamps, lengths, parameter types and headers.
const (
	rowOverhead  = 256
	stmtOverhead = 1024
)

// checkSize returns an error wrapping ErrTooLarge if a value of size bytes,
// whose row also holds extra bytes of key text and arguments, is larger
// than Options.MaxValueBytes or, on MySQL, than max_allowed_packet.
func (t *Table[V]) checkSize(extra, size int) error {
	if t.maxValue > 0 && size > t.maxValue {
		return errmark.Errorf(ErrTooLarge, "the value is %d bytes, over Options.MaxValueBytes (%d bytes)", size, t.maxValue)
	}
	if row := extra + size + rowOverhead; t.maxPacket > 0 && row > t.maxPacket-stmtOverhead {
		return errmark.Errorf(ErrTooLarge, "the row is about %d bytes (value %d bytes, key text and arguments %d bytes), over the server's max_allowed_packet of %d bytes",
			row+stmtOverhead, size, extra, t.maxPacket)
	}
	return nil
}

// writeError explains the error err of a write of size value bytes when
// the database says it is too large, or cannot store a JSON value.
func (t *Table[V]) writeError(err error, size int64) error {
	switch {
	case dialect.IsTooLarge(err):
		if t.handle != nil {
			// The server's limit may have been lowered: the next Open
			// over the *sql.DB reads it again.
			t.handle.maxPacket.Store(0)
		}
		return errmark.Errorf(ErrTooLarge, "entry too large for the database (value %d bytes): %w", size, err)
	case sqlState(err) == "22P05":
		// Never the args column: encodeArgs keeps U+0000 out of it.
		return fmt.Errorf("the value holds the character U+0000, which PostgreSQL's JSONB cannot hold; codecs gob and raw can: %w", err)
	}
	return err
}

// sqlState returns the SQLSTATE of a PostgreSQL error, or "".
func sqlState(err error) string {
	var e interface{ SQLState() string }
	if errors.As(err, &e) {
		return e.SQLState()
	}
	return ""
}

// Delete removes the entry stored under key. Deleting a missing key is not
// an error.
func (t *Table[V]) Delete(ctx context.Context, key keymap.Key) error {
	if t.closed.Load() {
		return t.closedf("delete %s", keyfmt.Key(key))
	}
	err := t.change(ctx, opDelete, &key, func(ctx context.Context, q Querier) (bool, error) {
		return affected(t.sql.del.execOn(ctx, q, key.Hash[:]))
	})
	if err != nil {
		err = t.errorf("delete %s: %w", keyfmt.Key(key), err)
		if t.obs != nil {
			t.observeErr("delete", err)
		}
		return err
	}
	return nil
}

// Pop removes the entry stored under key and returns its value, atomically:
// of concurrent Pops of one key, one finds it. An expired entry is not
// found, and stays. If the stored value does not decode, Pop returns an
// error and, unless the Table is bound to a transaction, the entry stays.
func (t *Table[V]) Pop(ctx context.Context, key keymap.Key) (value V, found bool, err error) {
	if t.closed.Load() {
		return value, false, t.closedf("pop %s", keyfmt.Key(key))
	}
	var decodeErr error
	var recorded int64 // the id of the change recorded, if any
	pop := func(ctx context.Context, q Querier) error {
		recorded = 0
		var zero V
		value, found, decodeErr = zero, false, nil
		rows, err := q.QueryContext(ctx, t.sql.pop, t.nowArg(), key.Hash[:])
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var raw sql.RawBytes
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			found = true
			decodeErr = t.decode(raw, &value)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if decodeErr != nil {
			return decodeErr // roll back: the entry stays
		}
		if found && t.d == dialect.MySQL { // the row is locked FOR UPDATE
			if _, err := q.ExecContext(ctx, t.sql.del.query, key.Hash[:]); err != nil {
				return err
			}
		}
		if found && t.feed != nil {
			id, err := t.recordChange(ctx, q, opDelete, &key)
			recorded = id
			return err
		}
		return nil
	}
	if t.conn == nil {
		err = pop(ctx, t.db)
	} else {
		// Not repeatable: if the connection broke after the delete, the
		// value is gone, and a second attempt would not find it.
		err = t.do(ctx, false, func(ctx context.Context) error {
			return t.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return pop(ctx, tx) })
		})
	}
	switch {
	case decodeErr != nil:
		var zero V
		return zero, false, t.decodeError(key.Text, decodeErr)
	case err != nil:
		var zero V
		return zero, false, t.errorf("pop %s: %w", keyfmt.Key(key), err)
	case !found:
		var zero V
		return zero, false, nil
	}
	if recorded > 0 {
		t.pruneFeed(ctx, recorded)
	}
	return value, true, nil
}

// Len returns the number of entries that have not expired.
func (t *Table[V]) Len(ctx context.Context) (int, error) {
	if t.closed.Load() {
		return 0, t.closedf("len")
	}
	var n int
	err := t.do(ctx, true, func(ctx context.Context) error {
		if t.replica != nil {
			rows, err := t.query(ctx, t.sql.count.query, t.nowArg())
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := rows.Scan(&n); err != nil {
					return err
				}
			}
			return rows.Err()
		}
		return t.sql.count.queryRow(ctx, t.db, t.nowArg()).Scan(&n)
	})
	if err != nil {
		return 0, t.errorf("len: %w", err)
	}
	return n, nil
}

// Clear removes every entry.
func (t *Table[V]) Clear(ctx context.Context) error {
	if t.closed.Load() {
		return t.closedf("clear")
	}
	err := t.change(ctx, opClear, nil, func(ctx context.Context, q Querier) (bool, error) {
		return affected(q.ExecContext(ctx, t.sql.clear))
	})
	if err != nil {
		return t.errorf("clear: %w", err)
	}
	return nil
}

// DeleteExpired removes the entries that have expired and returns how many
// it removed.
func (t *Table[V]) DeleteExpired(ctx context.Context) (int, error) {
	if t.closed.Load() {
		return 0, t.closedf("delete expired")
	}
	var n int64
	err := t.do(ctx, true, func(ctx context.Context) error {
		res, err := t.db.ExecContext(ctx, t.sql.deleteExpired, t.nowArg())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, t.errorf("delete expired: %w", err)
	}
	return int(n), nil
}

// Keys returns an iterator over the keys of the entries that have not
// expired, in the order of their hashes. It streams the rows of one query,
// holding a connection until the loop ends, and stops at the first error,
// which it yields with a zero Key.
func (t *Table[V]) Keys(ctx context.Context) iter.Seq2[keymap.Key, error] {
	return func(yield func(keymap.Key, error) bool) {
		if t.closed.Load() {
			yield(keymap.Key{}, t.closedf("keys"))
			return
		}
		rows, err := t.stream(ctx, t.sql.keys)
		if err != nil {
			yield(keymap.Key{}, t.errorf("keys: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var stored string
			if err := rows.Scan(&stored); err != nil {
				yield(keymap.Key{}, t.errorf("keys: %w", err))
				return
			}
			text, err := decodeKeyText(stored)
			if err != nil {
				yield(keymap.Key{}, t.errorf("keys: %w", err))
				return
			}
			if !yield(keymap.NewKey(text), nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(keymap.Key{}, t.errorf("keys: %w", err))
		}
	}
}

// All returns an iterator over the entries that have not expired, with
// their expiry, in the order of their key hashes. It streams the rows of one query, holding a
// connection until the loop ends, and stops at the first error, such as
// a value that does not decode, which it yields with a zero Entry.
func (t *Table[V]) All(ctx context.Context) iter.Seq2[cache.Entry[V], error] {
	return func(yield func(cache.Entry[V], error) bool) {
		if t.closed.Load() {
			yield(cache.Entry[V]{}, t.closedf("all"))
			return
		}
		rows, err := t.stream(ctx, t.sql.all)
		if err != nil {
			yield(cache.Entry[V]{}, t.errorf("all: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var stored string
			var raw sql.RawBytes
			var expires time.Time
			if err := rows.Scan(&stored, &raw, t.d.ScanTime(&expires)); err != nil {
				yield(cache.Entry[V]{}, t.errorf("all: %w", err))
				return
			}
			text, err := decodeKeyText(stored)
			if err != nil {
				yield(cache.Entry[V]{}, t.errorf("all: %w", err))
				return
			}
			e := cache.Entry[V]{Key: keymap.NewKey(text), ExpiresAt: expires}
			if err := t.decode(raw, &e.Value); err != nil {
				yield(cache.Entry[V]{}, t.decodeError(text, err))
				return
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(cache.Entry[V]{}, t.errorf("all: %w", err))
		}
	}
}

// stream starts query, whose one argument is the current time.
func (t *Table[V]) stream(ctx context.Context, query string) (*sql.Rows, error) {
	var rows *sql.Rows
	err := t.do(ctx, true, func(ctx context.Context) error {
		var err error
		rows, err = t.query(ctx, query, t.nowArg())
		return err
	})
	return rows, err
}

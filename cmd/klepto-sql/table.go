package main

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// entries is the table of an archive as the commands see it: values as
// they are stored, whatever the program that wrote them. Those of the json
// codec are JSON text; those of raw and gob are bytes.
type entries interface {
	Get(ctx context.Context, key keymap.Key) ([]byte, bool, error)
	Has(ctx context.Context, key keymap.Key) (bool, error)
	Put(ctx context.Context, key keymap.Key, value []byte) error
	Delete(ctx context.Context, key keymap.Key) error
	Rows(ctx context.Context) iter.Seq2[sqltable.Row[[]byte], error]
	PutRows(ctx context.Context, rows []sqltable.Row[[]byte]) error
	Len(ctx context.Context) (int, error)
	Clear(ctx context.Context) error
	DeleteExpired(ctx context.Context) (int, error)
	DeleteBefore(ctx context.Context, when time.Time) (int, error)
	Close() error
}

// openEntries opens the table of the archive info describes, over q: the
// archive's pool, or a transaction of it. Values of the json codec are
// json.RawMessage, stored and read as they are; gob values are read and
// written as the raw codec's bytes, which share their binary column, so
// that they are moved without being decoded, which only the Go program
// that wrote them could do.
func openEntries(ctx context.Context, q sqltable.Querier, d *dialect.Dialect, info sqlarchive.TableInfo) (entries, error) {
	if info.Layout != dialect.Layout {
		return nil, fmt.Errorf("archive %q has table layout %d; this klepto-sql knows layout %d", info.Name, info.Layout, dialect.Layout)
	}
	opts := &sqltable.Options{Dialect: d, TTL: info.TTL}
	if info.Codec == codec.JSON {
		t, err := sqltable.Open[json.RawMessage](ctx, q, info.Table, opts)
		if err != nil {
			return nil, err
		}
		return storedTable[json.RawMessage]{t}, nil
	}
	opts.Codec = codec.Raw
	t, err := sqltable.Open[[]byte](ctx, q, info.Table, opts)
	if err != nil {
		return nil, err
	}
	return storedTable[[]byte]{t}, nil
}

// storedTable adapts a Table of values that are bytes, json.RawMessage or
// []byte, to entries.
type storedTable[V ~[]byte] struct {
	*sqltable.Table[V]
}

func (t storedTable[V]) Get(ctx context.Context, key keymap.Key) ([]byte, bool, error) {
	v, found, err := t.Table.Get(ctx, key)
	return []byte(v), found, err
}

func (t storedTable[V]) Put(ctx context.Context, key keymap.Key, value []byte) error {
	return t.Table.Put(ctx, key, V(value))
}

func (t storedTable[V]) Rows(ctx context.Context) iter.Seq2[sqltable.Row[[]byte], error] {
	return func(yield func(sqltable.Row[[]byte], error) bool) {
		for r, err := range t.Table.Rows(ctx) {
			if !yield(sqltable.Row[[]byte]{Key: r.Key, Args: r.Args, Value: []byte(r.Value),
				CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt}, err) {
				return
			}
		}
	}
}

func (t storedTable[V]) PutRows(ctx context.Context, rows []sqltable.Row[[]byte]) error {
	out := make([]sqltable.Row[V], len(rows))
	for i, r := range rows {
		out[i] = sqltable.Row[V]{Key: r.Key, Args: r.Args, Value: V(r.Value),
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt}
	}
	return t.Table.PutRows(ctx, out)
}

// parseKey returns the key whose key_text column is text, as shown by
// the commands: a text stored as base64:… stands for its bytes.
func parseKey(text string) (keymap.Key, error) {
	decoded, err := sqltable.DecodeKeyText(text)
	if err != nil {
		return keymap.Key{}, err // it names the key
	}
	return keymap.NewKey(decoded), nil
}

// keyText returns the key_text column of key, as the commands show it.
func keyText(key keymap.Key) string { return sqltable.EncodeKeyText(key.Text) }

// withEntries opens the archive called name of the database dsn, and its
// table, runs fn, and closes them.
func (e *env) withEntries(ctx context.Context, dsn, name string, fn func(a *archive, info sqlarchive.TableInfo, t entries) error) (err error) {
	a, err := e.openArchive(ctx, dsn, false)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, a) }()
	info, err := a.info(ctx, name)
	if err != nil {
		return err
	}
	t, err := openEntries(ctx, a.pool, a.Dialect(), info)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, t) }()
	return fn(a, info, t)
}

// joinClose closes c and joins its error to err.
func joinClose(err error, c interface{ Close() error }) error {
	if cerr := c.Close(); cerr != nil && err == nil {
		return cerr
	}
	return err
}

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

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

// withStored opens the archive called name of the database dsn, and its
// table with values as they are stored (sqlarchive.Stored): the JSON text
// of codec json, the bytes of raw and gob, which only the Go program that
// wrote them could decode. It runs fn, and closes them.
func (e *env) withStored(ctx context.Context, dsn, name string, fn func(a *archive, info sqlarchive.TableInfo, t *sqltable.Table[[]byte]) error) (err error) {
	a, err := e.openArchive(ctx, dsn, false)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, a) }()
	t, info, err := sqlarchive.Stored(ctx, a.Archive, name, nil)
	if mismatch, ok := errors.AsType[*sqlarchive.MismatchError](err); ok && mismatch.Field == "layout" {
		return fmt.Errorf("archive %q has table layout %s; this klepto-sql knows layout %s", name, mismatch.Stored, mismatch.Requested)
	}
	if err != nil {
		return a.explain(err, name)
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

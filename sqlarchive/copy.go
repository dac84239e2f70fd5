package sqlarchive

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
)

// Copy copies the archive called name from src into dst, usually an
// Archive of another database, and returns how many entries it copied.
//
// If dst's catalog does not list the archive, Copy creates it as src's
// catalog describes it: the same codec, keymap (and keymap version), TTL
// and function version, so that the same programs read it alike. If dst's
// catalog lists it, that description must be the same, or Copy returns a
// *MismatchError and copies nothing.
//
// The entries are copied by sqltable.Table.CopyTo between the tables
// that Stored opens: those that have not expired, with their arguments and
// timestamps, values as they are stored (never decoded), in pages of 500
// entries each written in one transaction. An entry dst holds already is
// overwritten, and entries only dst holds are left alone. So Copy is
// idempotent: after an interruption, run it again.
//
// Copy returns an error wrapping ErrNotFound if src has no archive called
// name.
func Copy(ctx context.Context, dst, src *Archive, name string) (n int, err error) {
	if dst == nil || src == nil {
		return 0, errmark.Errorf(ErrInvalidOptions, "sqlarchive: copy: nil *Archive")
	}
	from, info, err := Stored(ctx, src, name, nil)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, from.Close()) }()
	if err := dst.check(); err != nil {
		return 0, err
	}
	if err := dst.createLike(ctx, info); err != nil {
		return 0, err
	}
	to, _, err := Stored(ctx, dst, name, nil)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, to.Close()) }()
	n, err = from.CopyTo(ctx, to, nil)
	return n, tableError(name, info.Table, err)
}

// createLike creates the archive that like, a catalog row of another
// database, describes, unless the catalog has it; then it checks that the
// catalog's row describes the same archive.
func (a *Archive) createLike(ctx context.Context, like TableInfo) error {
	name := like.Name
	table, version, err := TableName(name)
	if err != nil {
		return err
	}
	if table != like.Table || version != like.FuncVersion {
		return fmt.Errorf("sqlarchive: copy %q: the source catalog gives it table %q and version %q, not %q and %q",
			name, like.Table, like.FuncVersion, table, version)
	}
	info, err := a.create(ctx, TableInfo{
		Name:          name,
		Table:         table,
		FuncVersion:   version,
		Keymap:        like.Keymap,
		KeymapVersion: like.KeymapVersion,
		Codec:         like.Codec,
		TTL:           like.TTL,
		Layout:        dialect.Layout,
	})
	if err != nil {
		return err
	}
	mismatch := func(field, stored, requested string) error {
		return &MismatchError{Name: name, Field: field, Stored: stored, Requested: requested}
	}
	switch {
	case info.Codec != like.Codec:
		return mismatch("codec", info.Codec.String(), like.Codec.String())
	case info.Keymap != like.Keymap:
		return mismatch("keymap", info.Keymap, like.Keymap)
	case info.KeymapVersion != like.KeymapVersion:
		return mismatch("keymap version", strconv.Itoa(info.KeymapVersion), strconv.Itoa(like.KeymapVersion))
	case info.TTL != like.TTL:
		return mismatch("ttl", info.TTL.String(), like.TTL.String())
	}
	return nil
}

package sqlarchive

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/sqltable"
)

// CopyOptions configure [Copy]. A nil *CopyOptions and the zero value
// both mean: stop at the first bad row.
type CopyOptions struct {
	// SkipBadRows makes Copy skip the rows of the source table that cannot
	// be read (see sqltable.BadRowError), and report them in the
	// CopyResult, rather than stop at the first. Default false.
	SkipBadRows bool

	// Progress, if set, is called after each page of entries is written,
	// with the number of entries it wrote, on the goroutine of Copy: the
	// sum of its calls is CopyResult.Entries. For progress bars; a total
	// comes from [Archive.Stats] beforehand (Rows - Expired).
	Progress func(entries int)
}

// CopyResult is what [Copy] did.
type CopyResult struct {
	Entries int // the entries copied
	Skipped int // the bad rows skipped, with CopyOptions.SkipBadRows
	// BadRows are the first MaxBadRows of the rows skipped.
	BadRows []*sqltable.BadRowError
}

// Copy copies the archive called name from src into dst, usually an
// Archive of another database, and reports how many entries it copied.
// opts may be nil.
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
// name, and one wrapping ErrBrokenCatalog if its catalog row, in src or
// dst, is broken. A row of the source table that cannot be read is never
// copied: it stops Copy with an error wrapping the *sqltable.BadRowError,
// which names the table and the key, after the pages before it were
// copied; with opts.SkipBadRows, Copy skips it and goes on.
func Copy(ctx context.Context, dst, src *Archive, name string, opts *CopyOptions) (res CopyResult, err error) {
	var o CopyOptions
	if opts != nil {
		o = *opts
	}
	if dst == nil || src == nil {
		return res, errmark.Errorf(ErrInvalidOptions, "sqlarchive: copy: nil *Archive")
	}
	from, info, err := Stored(ctx, src, name, nil)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, from.Close()) }()
	if err := dst.check(); err != nil {
		return res, err
	}
	if err := dst.createLike(ctx, info); err != nil {
		return res, err
	}
	to, _, err := Stored(ctx, dst, name, nil)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, to.Close()) }()
	copts := &sqltable.CopyOptions{Progress: o.Progress}
	var bad badRows
	if o.SkipBadRows {
		copts.OnBadRow = func(b *sqltable.BadRowError) error {
			bad.skip(b)
			return nil
		}
	}
	res.Entries, err = from.CopyTo(ctx, to, copts)
	res.Skipped, res.BadRows = bad.skipped, bad.first
	return res, tableError(name, info.Table, err)
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
		Bounds:        like.Bounds,
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

package sqlarchive

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/sqltable"
)

// StoredOptions configure [Stored]. The zero value opens the table over
// the Archive's *sql.DB.
type StoredOptions struct {
	// Tx, if set, is a transaction of the Archive's *sql.DB: Stored reads
	// the catalog in it, and the table works in it (see sqltable.Open), so
	// that its writes commit or roll back with the transaction. The table
	// must not be used after the transaction ends.
	Tx *sql.Tx
}

// Stored opens the table of the archive called name with its values as
// they are stored (sqltable.Options.Stored), never decoded, which only the
// program that wrote them could do: JSON text for codec json, bytes for
// raw and gob. It returns the table and the archive's catalog row, whose
// Codec says which. Dump, Load, Copy and the klepto-sql commands reach
// the entries of archives this way. opts may be nil.
//
// The table has the codec and TTL of the catalog and the Archive's Clock
// and FeedWindow; its writes are recorded in the change feed, as those of
// any table, so that the memos of other processes drop what they change.
// Stored creates nothing: it returns an error wrapping ErrNotFound if the
// catalog has no archive called name, or if another Archive drops it while
// Stored opens it, and a *MismatchError if the archive's table layout is
// not dialect.Layout.
//
// Close the table when done with it: unlike the tables of [Table], the
// Archive does not keep it, and Archive.Close does not close it.
func Stored(ctx context.Context, a *Archive, name string, opts *StoredOptions) (*sqltable.Table[[]byte], TableInfo, error) {
	var o StoredOptions
	if opts != nil {
		o = *opts
	}
	if a == nil {
		return nil, TableInfo{}, errmark.Errorf(ErrInvalidOptions, "sqlarchive: stored: nil *Archive")
	}
	var q dialect.Querier = a.db
	if o.Tx != nil {
		q = o.Tx
	}
	info, err := a.infoOn(ctx, q, name)
	if err != nil {
		return nil, TableInfo{}, err
	}
	if err := info.match(&TableOptions{}); err != nil { // the layout
		return nil, TableInfo{}, err
	}
	topts := &sqltable.Options{Dialect: a.d, Codec: info.Codec, Stored: true, TTL: info.TTL, EventName: info.Name,
		Clock: a.now, FeedWindow: a.feedWindow, RequireFeed: true, NoPrepare: a.noPrepare,
		MaxEntries: info.Bounds.MaxEntries, MaxBytes: info.Bounds.MaxBytes, Evict: info.Bounds.Evict}
	if o.Tx != nil {
		t, err := sqltable.Open[[]byte](ctx, o.Tx, info.Table, topts)
		if err != nil {
			return nil, TableInfo{}, tableError(name, info.Table, err)
		}
		return t, info, nil
	}
	t, err := openKept[[]byte](ctx, a, info, topts)
	switch {
	case err != nil:
		return nil, TableInfo{}, err
	case t == nil:
		return nil, TableInfo{}, fmt.Errorf("%w: %q was dropped while being opened", ErrNotFound, name)
	}
	return t, info, nil
}

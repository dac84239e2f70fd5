package sqlarchive

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// maxKeymap is the longest keymap description the catalog holds: its keymap
// column is a VARCHAR(1024) on MySQL.
const maxKeymap = 1024

// TableOptions configure [Table]. Codec, Keymap and TTL describe the
// archive, and are recorded in the catalog when Table creates it; when the
// archive exists, those that are set must match the catalog, and those that
// are nil take its values. So the zero value opens an existing archive as it
// was created, and creates a new one with the defaults. The other fields
// concern this process only.
type TableOptions struct {
	// Codec encodes the values; the default is codec.JSON. Write
	// new(codec.Gob) to ask for one.
	Codec *codec.Codec

	// Keymap is the keymap that makes the keys; the default is
	// keymap.NewString(nil). The catalog records its description
	// (keymap.Keymap.String, at most 1024 bytes) and keymap.Version, so that
	// keys made another way are refused instead of never found.
	Keymap *keymap.Keymap

	// TTL is how long entries live after they are written; the default is
	// no expiry. Write new(time.Hour), or new(time.Duration(0)) to require
	// entries that never expire. It must not be negative.
	TTL *time.Duration

	// MaxEntries and MaxBytes bound the archive's table, and Evict
	// chooses its eviction order, as the fields of sqltable.Options of
	// the same names do; the default is no bound and sqltable.EvictLRS.
	// Like TTL, they are recorded in the catalog when the archive is
	// created, must match it when set, and Archive.Alter changes them:
	// write new(int64(0)) to require an unbounded archive.
	MaxEntries *int64
	MaxBytes   *int64
	Evict      *sqltable.Evict

	// Retries, MaxValueBytes and ArgsOptions are passed to the table as
	// the fields of sqltable.Options of the same names.
	Retries       int
	MaxValueBytes int
	ArgsOptions   *keymap.Options
}

// MismatchError reports an archive opened with options that contradict its
// catalog row.
type MismatchError struct {
	Name      string // the archive
	Field     string // "codec", "keymap", "keymap version", "ttl", "max entries", "max bytes", "evict" or "layout"
	Stored    string // the value in the catalog
	Requested string // the value asked for
}

// Error returns, for example,
// `sqlarchive: table "fib" is stored with codec gob, opened with json`.
func (e *MismatchError) Error() string {
	stored, requested := e.Stored, e.Requested
	if e.Field == "keymap" {
		stored, requested = strconv.Quote(stored), strconv.Quote(requested)
	}
	return fmt.Sprintf("sqlarchive: table %q is stored with %s %s, opened with %s", e.Name, e.Field, stored, requested)
}

// Table returns the table of the archive called name (see [TableName]),
// creating the archive, its catalog row and its table, if the catalog does
// not list it. opts may be nil.
//
// The archive's codec, keymap and TTL are those of the catalog; options that
// contradict them are refused with a *MismatchError, as are archives of
// another table layout (dialect.Layout) or, when opts.Keymap is set, of
// another keymap.Version. Creation happens under the table's DDL lock (see
// dialect.Dialect.WithDDLLock), so processes that open one new archive at
// once make it once and all agree on it; the first one's options win.
// A table that exists in the database but not in the catalog is never
// taken over: Table returns an error. If another Archive drops the archive
// while Table opens it, Table makes it anew, and gives up after a few
// attempts with an error wrapping ErrNotFound.
//
// The table is an ordinary *sqltable.Table over the Archive's *sql.DB,
// safe for concurrent use. Closing it is optional: Archive.Close and
// Archive.Drop close it. Open each table once and keep it, as its statements
// are prepared when it is opened. Table returns ErrClosed after
// Archive.Close.
//
// Table is a function, not a method, because methods cannot have type
// parameters.
func Table[V any](ctx context.Context, a *Archive, name string, opts *TableOptions) (*sqltable.Table[V], error) {
	t, _, err := tableInfo[V](ctx, a, name, opts)
	return t, err
}

// tableInfo is Table, which also returns the catalog row of the archive,
// as read before its table was opened.
func tableInfo[V any](ctx context.Context, a *Archive, name string, opts *TableOptions) (*sqltable.Table[V], TableInfo, error) {
	var o TableOptions
	if opts != nil {
		o = *opts
	}
	if a == nil {
		return nil, TableInfo{}, errmark.Errorf(ErrInvalidOptions, "sqlarchive: table: nil *Archive")
	}
	if err := a.check(); err != nil {
		return nil, TableInfo{}, err
	}
	table, version, err := TableName(name)
	if err != nil {
		return nil, TableInfo{}, err
	}
	if err := o.validate(); err != nil {
		return nil, TableInfo{}, errmark.Errorf(ErrInvalidOptions, "sqlarchive: archive %q: %w", name, err)
	}
	if o.Codec != nil {
		// Checked by sqltable.Open too, but only once the archive exists.
		if err := codec.Check[V](*o.Codec); err != nil {
			return nil, TableInfo{}, errmark.Errorf(ErrInvalidOptions, "sqlarchive: archive %q: %w", name, err)
		}
	}
	for range maxOpenAttempts {
		t, info, err := openOnce[V](ctx, a, name, table, version, &o)
		if err != nil {
			return nil, TableInfo{}, err
		}
		if t != nil {
			if err := a.keep(name, t); err != nil {
				return nil, TableInfo{}, err
			}
			return t, info, nil
		}
	}
	return nil, TableInfo{}, fmt.Errorf("%w: %q was dropped while being opened, %d times", ErrNotFound, name, maxOpenAttempts)
}

// maxOpenAttempts is how many times Table opens an archive that other
// Archives drop while it opens it.
const maxOpenAttempts = 5

// openOnce opens the table of the archive called name, held in table,
// creating the archive first if needed, and its catalog row. It returns a
// nil table and a nil error if another Archive dropped the archive
// meanwhile.
func openOnce[V any](ctx context.Context, a *Archive, name, table, version string, o *TableOptions) (*sqltable.Table[V], TableInfo, error) {
	info, err := a.ensure(ctx, name, table, version, o)
	if err != nil {
		return nil, TableInfo{}, err
	}
	t, err := openKept[V](ctx, a, info, &sqltable.Options{
		Dialect:       a.d,
		Codec:         info.Codec,
		TTL:           info.TTL,
		MaxEntries:    info.Bounds.MaxEntries,
		MaxBytes:      info.Bounds.MaxBytes,
		Evict:         info.Bounds.Evict,
		Clock:         a.now,
		Retries:       o.Retries,
		MaxValueBytes: o.MaxValueBytes,
		ArgsOptions:   o.ArgsOptions,
		FeedWindow:    a.feedWindow,
		RequireFeed:   true,
		AccessLog:     a.accessLog(),
		NoPrepare:     a.noPrepare,
		ReadDB:        a.reads(),
	})
	return t, info, err
}

// openKept opens, over the Archive's *sql.DB, the table of the archive
// whose catalog row is info, with opts. It returns a nil table and a nil
// error if another Archive dropped the archive meanwhile.
func openKept[V any](ctx context.Context, a *Archive, info TableInfo, opts *sqltable.Options) (*sqltable.Table[V], error) {
	if opts.Observer == nil {
		opts.Observer = a.obs
	}
	if opts.EventName == "" {
		opts.EventName = info.Name
	}
	t, err := sqltable.Open[V](ctx, a.db, info.Table, opts)
	err = tableError(info.Name, info.Table, err)
	// Another Archive may have dropped the archive since its catalog row
	// was read: sqltable.Open then fails, or creates the table anew,
	// outside the catalog.
	kept, kerr := a.survived(ctx, info, err != nil)
	switch {
	case kerr != nil || err != nil && kept:
		return nil, errors.Join(err, kerr, closeTable(t))
	case !kept:
		return nil, closeTable(t)
	}
	return t, nil
}

// closeTable closes t, which may be nil.
func closeTable[V any](t *sqltable.Table[V]) error {
	if t == nil {
		return nil
	}
	return t.Close()
}

// survived reports whether the catalog still has the archive that ensure
// returned as info, after sqltable.Open opened its table, or failed to if
// failed is set. If not, it drops the archive's table, which sqltable.Open
// may have made anew, so that no table is left that the catalog does not
// list.
func (a *Archive) survived(ctx context.Context, info TableInfo, failed bool) (bool, error) {
	same := func(now TableInfo) bool {
		return now.Name == info.Name && now.CreatedAt.Equal(info.CreatedAt) &&
			now.Codec == info.Codec && now.TTL == info.TTL && now.Keymap == info.Keymap
	}
	if !failed {
		switch now, found, err := lookup(ctx, a.d, a.db, a.sql.byTable, info.Table); {
		case err != nil:
			return false, fmt.Errorf("sqlarchive: archive %q: %w", info.Name, err)
		case found && same(now):
			return true, nil
		}
	}
	// Under the lock, a Drop that was under way has finished (MySQL drops
	// the table and deletes the catalog row in two steps).
	kept := false
	err := a.d.WithDDLLock(ctx, a.db, info.Table, func(ctx context.Context, q dialect.Querier) error {
		now, found, err := lookup(ctx, a.d, q, a.sql.byTable, info.Table)
		if err != nil {
			return fmt.Errorf("sqlarchive: archive %q: %w", info.Name, err)
		}
		if found {
			kept = same(now)
			return nil
		}
		drop, err := a.d.DropTable(info.Table)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, drop); err != nil {
			return fmt.Errorf("sqlarchive: archive %q: drop a table left outside the catalog: %w", info.Name, err)
		}
		return nil
	})
	return kept, err
}

// tableError returns err, an error of the table of the archive called
// name, held in table. Package sqltable names the table in its errors, so
// the archive's name is added only when it is not the table's, as for
// base@version.
func tableError(name, table string, err error) error {
	if _, ok := errors.AsType[*MismatchError](err); ok || err == nil || name == table {
		return err // a *MismatchError names the archive
	}
	return fmt.Errorf("sqlarchive: archive %q: %w", name, err)
}

// wrapArchive returns err, if not nil, as an error of the archive called
// name.
func wrapArchive(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlarchive: archive %q: %w", name, err)
}

// validate says what is wrong with o, if anything.
func (o *TableOptions) validate() error {
	switch {
	case o.Codec != nil && !o.Codec.Valid():
		return fmt.Errorf("invalid codec %v", *o.Codec)
	case o.TTL != nil && *o.TTL < 0:
		return fmt.Errorf("negative TTL %v", *o.TTL)
	case o.Keymap != nil && len(o.Keymap.String()) > maxKeymap:
		return fmt.Errorf("the keymap description %q is longer than the catalog's %d bytes", o.Keymap.String(), maxKeymap)
	}
	return o.bounds(sqltable.Bounds{}).Validate()
}

// bounds returns the bounds that o sets, the others those of b.
func (o *TableOptions) bounds(b sqltable.Bounds) sqltable.Bounds {
	if o.MaxEntries != nil {
		b.MaxEntries = *o.MaxEntries
	}
	if o.MaxBytes != nil {
		b.MaxBytes = *o.MaxBytes
	}
	if o.Evict != nil {
		b.Evict = *o.Evict
	}
	return b
}

// ensure returns the catalog row of the archive called name, held in table,
// after creating it, its table and its catalog row if the catalog has
// none, and checks o against it.
//
// The catalog row of an archive that exists is read first without the DDL
// lock, in one query rather than the lock's three or four: openKept reads
// it again once the table is open, so an archive dropped meanwhile is
// found as it is when the row is read under the lock.
func (a *Archive) ensure(ctx context.Context, name, table, version string, o *TableOptions) (TableInfo, error) {
	info, found, err := lookup(ctx, a.d, a.db, a.sql.byTable, table)
	if err != nil || !found || info.Name != name {
		// Under the lock, with the errors it gives.
		if info, err = a.create(ctx, newInfo(name, table, version, o)); err != nil {
			return TableInfo{}, err
		}
	}
	if err := info.match(o); err != nil {
		return TableInfo{}, err
	}
	return info, nil
}

// create returns the catalog row of the archive row.Name, whose table is
// row.Table. If the catalog has none, it creates the archive as row
// describes it, stamped with the current time: the catalog row, then the
// table, under the table's DDL lock.
//
// Two processes that create one archive at the same time through different
// nodes of a MariaDB Galera cluster, where the DDL lock (GET_LOCK) holds
// only on its node, both find it absent: the catalog insert of one then
// fails, as a deadlock (a lost certification) or a duplicate key. create
// runs again, at once after a duplicate key (the other's row is on this
// node then), and after a deadlock up to conflictRetries times, and finds
// the other's row.
func (a *Archive) create(ctx context.Context, row TableInfo) (TableInfo, error) {
	var info TableInfo
	err := a.d.RetryConflict(ctx, conflictRetries, func() (err error) {
		info, err = a.createOnce(ctx, row)
		if dialect.IsUniqueViolation(err) {
			info, err = a.createOnce(ctx, row)
		}
		return err
	})
	return info, err
}

// createOnce is one attempt of create.
func (a *Archive) createOnce(ctx context.Context, row TableInfo) (TableInfo, error) {
	name, table := row.Name, row.Table
	var info TableInfo
	err := a.d.WithDDLLock(ctx, a.db, table, func(ctx context.Context, q dialect.Querier) error {
		var found bool
		var err error
		if info, found, err = lookup(ctx, a.d, q, a.sql.byTable, table); err != nil || found {
			return wrapArchive(name, err)
		}
		// A table the catalog does not list belongs to someone else, or
		// to the application itself: leave it alone.
		exists, err := a.d.TableExists(ctx, q, table)
		if err != nil {
			return fmt.Errorf("sqlarchive: archive %q: %w", name, err)
		}
		if exists {
			what := "a table of that name"
			if table != name {
				what = fmt.Sprintf("its table %q", table)
			}
			return fmt.Errorf("sqlarchive: archive %q: the database has %s, which the catalog does not list; "+
				"choose another name, list it in the catalog with Adopt (klepto-sql create -adopt), "+
				"or drop it with Archive.DropOrphan (klepto-sql drop -orphan)", name, what)
		}
		// The catalog row goes first: if the table does not follow (MySQL
		// commits each statement), opening the archive again creates it.
		now := a.now().UTC()
		row.CreatedAt, row.UpdatedAt = now, now
		if _, err := q.ExecContext(ctx, a.sql.insert, insertArgs(a.d, &row)...); err != nil {
			return fmt.Errorf("sqlarchive: archive %q: write catalog: %w", name, err)
		}
		ddl, err := a.d.CreateTable(table, row.Codec)
		if err != nil {
			return fmt.Errorf("sqlarchive: archive %q: %w", name, err)
		}
		for _, stmt := range ddl {
			if _, err := q.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sqlarchive: archive %q: create table: %w", name, err)
			}
		}
		if info, found, err = lookup(ctx, a.d, q, a.sql.byTable, table); err != nil {
			return wrapArchive(name, err)
		}
		if !found {
			// The insert did nothing: the name has a row for another table.
			return fmt.Errorf("sqlarchive: archive %q: the catalog names another table for it", name)
		}
		return nil
	})
	if err != nil {
		return TableInfo{}, err
	}
	if info.Name != name {
		return TableInfo{}, fmt.Errorf("sqlarchive: archive %q: its table %q belongs to the archive %q", name, table, info.Name)
	}
	return info, nil
}

// newInfo returns the catalog row of a new archive made with o.
func newInfo(name, table, version string, o *TableOptions) TableInfo {
	info := TableInfo{
		Name:          name,
		Table:         table,
		FuncVersion:   version,
		Keymap:        defaultKeymap(),
		KeymapVersion: keymap.Version,
		Codec:         codec.JSON,
		Layout:        dialect.Layout,
	}
	if o.Keymap != nil {
		info.Keymap = o.Keymap.String()
	}
	if o.Codec != nil {
		info.Codec = *o.Codec
	}
	if o.TTL != nil {
		info.TTL = *o.TTL
	}
	info.Bounds = o.bounds(info.Bounds)
	return info
}

// match returns a *MismatchError if o contradicts info.
func (info *TableInfo) match(o *TableOptions) error {
	mismatch := func(field, stored, requested string) error {
		return &MismatchError{Name: info.Name, Field: field, Stored: stored, Requested: requested}
	}
	switch {
	case info.Layout != dialect.Layout:
		return mismatch("layout", strconv.Itoa(info.Layout), strconv.Itoa(dialect.Layout))
	case o.Codec != nil && *o.Codec != info.Codec:
		return mismatch("codec", info.Codec.String(), o.Codec.String())
	case o.Keymap != nil && o.Keymap.String() != info.Keymap:
		return mismatch("keymap", info.Keymap, o.Keymap.String())
	case o.Keymap != nil && info.KeymapVersion != keymap.Version:
		return mismatch("keymap version", strconv.Itoa(info.KeymapVersion), strconv.Itoa(keymap.Version))
	case o.TTL != nil && *o.TTL != info.TTL:
		return mismatch("ttl", info.TTL.String(), o.TTL.String())
	case o.MaxEntries != nil && *o.MaxEntries != info.Bounds.MaxEntries:
		return mismatch("max entries", strconv.FormatInt(info.Bounds.MaxEntries, 10), strconv.FormatInt(*o.MaxEntries, 10))
	case o.MaxBytes != nil && *o.MaxBytes != info.Bounds.MaxBytes:
		return mismatch("max bytes", strconv.FormatInt(info.Bounds.MaxBytes, 10), strconv.FormatInt(*o.MaxBytes, 10))
	case o.Evict != nil && *o.Evict != info.Bounds.Evict:
		return mismatch("evict", info.Bounds.Evict.String(), o.Evict.String())
	}
	return nil
}

// defaultKeymap returns the description of the default keymap, the string
// keymap without options.
func defaultKeymap() string {
	k, err := keymap.NewString(nil)
	if err != nil {
		return keymap.KindString.String() // unreachable: nil options are valid
	}
	return k.String()
}

package sqlarchive

import (
	"context"
	"errors"
	"fmt"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/sqltable"
)

// ErrNotOrphan is wrapped by the errors of [Adopt] and [DropOrphan] for a
// table that the catalog lists, or that does not exist.
var ErrNotOrphan = errors.New("sqlarchive: not a table outside the catalog")

// Adopt lists in the catalog, as the archive called name, its table (see
// [TableName]), which the database holds but the catalog does not list:
// a table left behind when `klepto-sql migrate down` (migrations.Down)
// dropped the catalog, or copied in from another database. opts may be
// nil; its Codec, Keymap and TTL describe the archive, with the defaults
// of [Table], and its other fields are not used. The table must have the
// columns of an archive table and a value column that suits the codec, as
// sqltable.Open checks; if not, Adopt lists nothing and returns its error.
// The entries are kept as they are: adopt with the codec, keymap and TTL
// they were written with.
//
// Adopt returns an error wrapping [ErrNotOrphan] if the catalog lists the
// table, or if the database has no such table. It returns the new catalog
// row.
func Adopt(ctx context.Context, a *Archive, name string, opts *TableOptions) (TableInfo, error) {
	if a == nil {
		return TableInfo{}, errmark.Errorf(ErrInvalidOptions, "sqlarchive: adopt: nil *Archive")
	}
	if err := a.check(); err != nil {
		return TableInfo{}, err
	}
	table, version, err := TableName(name)
	if err != nil {
		return TableInfo{}, err
	}
	var o TableOptions
	if opts != nil {
		o = *opts
	}
	if err := o.validate(); err != nil {
		return TableInfo{}, errmark.Errorf(ErrInvalidOptions, "sqlarchive: adopt %q: %w", name, err)
	}
	row := newInfo(name, table, version, &o)
	if err := a.orphanOn(ctx, a.db, table); err != nil {
		return TableInfo{}, fmt.Errorf("sqlarchive: adopt %q: %w", name, err)
	}
	if err := checkLayout(ctx, a, table, row.Codec); err != nil {
		return TableInfo{}, fmt.Errorf("sqlarchive: adopt %q: %w", name, err)
	}
	err = a.d.WithDDLLock(ctx, a.db, table, func(ctx context.Context, q dialect.Querier) error {
		// Again under the lock: another process may have made the archive.
		if err := a.orphanOn(ctx, q, table); err != nil {
			return err
		}
		now := a.now().UTC()
		row.CreatedAt, row.UpdatedAt = now, now
		if _, err := q.ExecContext(ctx, a.sql.insert, insertArgs(a.d, &row)...); err != nil {
			return fmt.Errorf("write catalog: %w", err)
		}
		return nil
	})
	if err != nil {
		return TableInfo{}, fmt.Errorf("sqlarchive: adopt %q: %w", name, err)
	}
	info, err := a.Info(ctx, name)
	if err == nil && info.Table != table {
		err = fmt.Errorf("sqlarchive: adopt %q: the catalog lists it with the table %q", name, info.Table)
	}
	return info, err
}

// DropOrphan drops the table of the archive called name (see [TableName]),
// with all its rows, if the catalog does not list it: a table left behind
// when migrations.Down dropped the catalog. The table must have the columns
// of an archive table, so that DropOrphan never drops another table of the
// application. It returns an error wrapping [ErrNotOrphan] if the catalog
// lists the table (drop the archive with [Archive.Drop]) or if the
// database has no such table.
func (a *Archive) DropOrphan(ctx context.Context, name string) error {
	if err := a.check(); err != nil {
		return err
	}
	table, _, err := TableName(name)
	if err != nil {
		return err
	}
	if err := a.orphanOn(ctx, a.db, table); err != nil {
		return fmt.Errorf("sqlarchive: drop orphan %q: %w", name, err)
	}
	if err := checkLayout(ctx, a, table, codec.JSON); err != nil {
		if rerr := checkLayout(ctx, a, table, codec.Raw); rerr != nil {
			return fmt.Errorf("sqlarchive: drop orphan %q: %w", name, err)
		}
	}
	err = a.d.WithDDLLock(ctx, a.db, table, func(ctx context.Context, q dialect.Querier) error {
		if err := a.orphanOn(ctx, q, table); err != nil {
			return err
		}
		drop, err := a.d.DropTable(table)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, drop); err != nil {
			return err
		}
		// Processes that had the table open drop its entries from memory.
		if _, err := q.ExecContext(ctx, a.sql.dropped, table); err != nil {
			return fmt.Errorf("record the drop in the change feed: %w", feedError(err))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlarchive: drop orphan %q: %w", name, err)
	}
	return nil
}

// orphanOn checks, over q, that the database has table, and that the
// catalog does not list it.
func (a *Archive) orphanOn(ctx context.Context, q dialect.Querier, table string) error {
	info, found, err := lookup(ctx, a.d, q, a.sql.byTable, table)
	if err != nil {
		return err
	}
	if found {
		return fmt.Errorf("%w: the catalog lists the table %q as the archive %q", ErrNotOrphan, table, info.Name)
	}
	exists, err := a.d.TableExists(ctx, q, table)
	if err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("%w: the database has no table %q", ErrNotOrphan, table)
	}
	return nil
}

// checkLayout checks, with sqltable.Open, that table has the columns of an
// archive table and a value column that suits c.
func checkLayout(ctx context.Context, a *Archive, table string, c codec.Codec) error {
	t, err := sqltable.Open[[]byte](ctx, a.db, table, &sqltable.Options{Dialect: a.d, Codec: c, Stored: true, NoPrepare: a.noPrepare})
	if err != nil {
		return err
	}
	return t.Close()
}

package migrations

import (
	"context"
	"fmt"

	"github.com/klepto-sql/klepto/dialect"
)

// mark is what one migration adds to the schema: a table, or a column of a
// table.
type mark struct {
	version uint
	table   string
	column  string // "" for the table itself
}

// marks are the marks of the embedded migrations, in order; every dialect
// has the same.
var marks = []mark{
	{1, ArchivesTable, ""},
	{2, ChangesTable, ""},
	{3, ChangesTable, "key_text"},
	{4, LeasesTable, ""},
	{6, ArchivesTable, "loads"},
	{7, ArchivesTable, "result_type"},
}

// Found is what [Status] finds by looking at klepto's tables rather than
// at the version record: the version of the last migration whose tables and
// columns are all there, when every earlier one's are too and no later
// one's are.
type Found struct {
	Version uint // the version that the tables match; 0 if none of klepto's tables is there
	Mixed   bool // the tables match no version: some of a later migration are there, some of an earlier one are not
}

// String returns "version 4", "no tables" or "a mix of versions".
func (f Found) String() string {
	switch {
	case f.Mixed:
		return "a mix of versions"
	case f.Version == 0:
		return "no tables"
	}
	return fmt.Sprintf("version %d", f.Version)
}

// detect looks at the tables of db, whose dialect is d.
func detect(ctx context.Context, q dialect.Querier, d *dialect.Dialect) (Found, error) {
	var f Found
	gap := false
	for _, m := range marks {
		ok, err := hasMark(ctx, q, d, m)
		if err != nil {
			return Found{}, fmt.Errorf("look at the tables: %w", err)
		}
		switch {
		case ok && gap:
			return Found{Mixed: true}, nil
		case ok:
			f.Version = m.version
		default:
			gap = true
		}
	}
	return f, nil
}

// hasMark reports whether db holds m.
func hasMark(ctx context.Context, q dialect.Querier, d *dialect.Dialect, m mark) (bool, error) {
	if m.column == "" {
		return d.TableExists(ctx, q, m.table)
	}
	var query string
	switch d {
	case dialect.SQLite:
		query = `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`
	case dialect.Postgres:
		// From pg_catalog: information_schema.columns takes 10 to 40 ms.
		query = `SELECT count(*) FROM pg_catalog.pg_attribute a ` +
			`JOIN pg_catalog.pg_class c ON c.oid = a.attrelid ` +
			`JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ` +
			`WHERE n.nspname = current_schema() AND c.relname = $1 AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`
	default:
		query = `SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?`
	}
	var n int
	if err := q.QueryRowContext(ctx, query, m.table, m.column).Scan(&n); err != nil {
		return false, fmt.Errorf("look up column %s.%s: %w", m.table, m.column, err)
	}
	return n > 0, nil
}

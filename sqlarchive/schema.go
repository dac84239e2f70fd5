package sqlarchive

import (
	"context"
	"database/sql"
	"strings"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/migrations"
)

// latestColumns are, by table, the columns that klepto's migrations add
// to the tables they create (migrations 3, 6 and 7); the tables are those
// of migrations 1, 2 and 4. A new migration adds its table or columns
// here: TestSchemaProbe fails until it does.
var latestColumns = []struct {
	table   string
	columns []string
}{
	{migrations.ArchivesTable, []string{"loads", "stats_at", "result_type", "args_type"}},
	{migrations.ChangesTable, []string{"key_text"}},
	{migrations.LeasesTable, nil},
}

// schemaProbe is the query of upToDate: the version record, read only if
// every table and column of latestColumns is there. It selects the columns
// of an empty join, so that a missing one is an error of the query, at no
// cost. Names are unquoted: SQLite reads a quoted name that is no column
// as a string.
var schemaProbe = func() string {
	var cols, from []string
	for i, t := range latestColumns {
		alias := "t" + string(rune('0'+i))
		from = append(from, t.table+" "+alias)
		for _, c := range t.columns {
			cols = append(cols, alias+"."+c)
		}
	}
	return "SELECT version, dirty FROM " + migrations.MigrationsTable +
		" WHERE NOT EXISTS (SELECT " + strings.Join(cols, ", ") + " FROM " + strings.Join(from, ", ") + " WHERE 1 = 0)"
}()

// upToDate reports whether db, whose dialect is d, has every table and
// column of klepto's latest migration, with a version record that is
// clean and at least the latest embedded migration: one query, which
// needs no lock and no connection of its own. Open then skips
// migrations.Up and its checks, which would find nothing to do (see
// Schema in the package documentation). Any error, such as a missing
// table or column, reports false: Open then runs the full checks, which
// say what is wrong.
func upToDate(ctx context.Context, db *sql.DB, d *dialect.Dialect) bool {
	list, err := migrations.List(d)
	if err != nil || len(list) == 0 {
		return false
	}
	var version int64
	var dirty bool
	if err := db.QueryRowContext(ctx, schemaProbe).Scan(&version, &dirty); err != nil {
		return false
	}
	return !dirty && version >= int64(list[len(list)-1].Version)
}

package dialect

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Upsert describes an INSERT that updates the existing row instead when a row
// with the same key is already present. Build its SQL with [Dialect.Upsert].
type Upsert struct {
	// Table is the table to write, quoted by the dialect. It is not validated,
	// so klepto's own tables can be written too.
	Table string
	// Columns are the inserted columns, in the order of the arguments of each
	// row. Required.
	Columns []string
	// Key are the columns of the primary key or unique constraint a conflict
	// is detected on, all in Columns. Required. MySQL detects conflicts on
	// every unique key of the table and ignores Key.
	Key []string
	// Update are the columns overwritten with the incoming row's values on a
	// conflict, all in Columns and none in Key. Columns not listed keep their
	// stored values. Empty means do nothing on a conflict: the stored row wins.
	Update []string
	// Rows is the number of rows inserted by one statement, at least 1. The
	// statement takes Rows*len(Columns) arguments, row after row, which must
	// not exceed [Dialect.MaxPlaceholders].
	Rows int
}

// Upsert returns the SQL of u:
//
//	SQLite:     INSERT INTO "t" (…) VALUES (?, …), … ON CONFLICT ("k") DO UPDATE SET "v" = excluded."v"
//	PostgreSQL: INSERT INTO "t" (…) VALUES ($1, …), … ON CONFLICT ("k") DO UPDATE SET "v" = EXCLUDED."v"
//	MySQL:      INSERT INTO `t` (…) VALUES (?, …), … ON DUPLICATE KEY UPDATE `v` = VALUES(`v`)
//
// With no Update columns the conflict clause is DO NOTHING, or on MySQL a
// no-op update of the first Key column (INSERT IGNORE would also hide other
// errors). MySQL uses VALUES(col), which MariaDB and MySQL 8 both accept
// (MySQL 8.0.20 and later with deprecation warning 1287); MariaDB rejects
// MySQL 8's "AS new" row alias. RowsAffected differs too: MySQL counts an
// updated row twice and an unchanged one not at all.
//
// The rows of one multi-row statement must have distinct keys: PostgreSQL
// refuses to update one row twice in a statement. Concurrent multi-row
// upserts should also sort their rows by key, or MySQL and PostgreSQL
// deadlock; see [IsDeadlock].
//
// Upsert returns an error if u is incomplete or inconsistent or needs more
// than [Dialect.MaxPlaceholders] arguments. Callers on a hot path build the
// statement once per row count and keep it.
func (d *Dialect) Upsert(u Upsert) (string, error) {
	if err := d.checkUpsert(u); err != nil {
		return "", fmt.Errorf("dialect: upsert into %q: %w", u.Table, err)
	}
	var b strings.Builder
	cols := len(u.Columns)
	b.Grow(64 + 16*cols + u.Rows*(4*cols+4) + 24*len(u.Update))
	b.WriteString("INSERT INTO ")
	b.WriteString(d.QuoteIdent(u.Table))
	b.WriteString(" (")
	d.joinQuoted(&b, u.Columns)
	b.WriteString(") VALUES ")
	for r := range u.Rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		d.appendPlaceholders(&b, r*cols+1, cols)
		b.WriteByte(')')
	}
	if d.kind == mysql {
		b.WriteString(" ON DUPLICATE KEY UPDATE ")
		if len(u.Update) == 0 {
			k := d.QuoteIdent(u.Key[0])
			b.WriteString(k + " = " + k)
			return b.String(), nil
		}
		for i, c := range u.Update {
			if i > 0 {
				b.WriteString(", ")
			}
			q := d.QuoteIdent(c)
			b.WriteString(q + " = VALUES(" + q + ")")
		}
		return b.String(), nil
	}
	b.WriteString(" ON CONFLICT (")
	d.joinQuoted(&b, u.Key)
	if len(u.Update) == 0 {
		b.WriteString(") DO NOTHING")
		return b.String(), nil
	}
	b.WriteString(") DO UPDATE SET ")
	excluded := "excluded."
	if d.kind == postgres {
		excluded = "EXCLUDED."
	}
	for i, c := range u.Update {
		if i > 0 {
			b.WriteString(", ")
		}
		q := d.QuoteIdent(c)
		b.WriteString(q + " = " + excluded + q)
	}
	return b.String(), nil
}

func (d *Dialect) checkUpsert(u Upsert) error {
	switch {
	case u.Table == "":
		return errors.New("no table")
	case len(u.Columns) == 0:
		return errors.New("no columns")
	case len(u.Key) == 0:
		return errors.New("no key columns")
	case u.Rows < 1:
		return fmt.Errorf("%d rows; want at least 1", u.Rows)
	}
	for i, c := range u.Columns {
		if c == "" {
			return fmt.Errorf("column %d has no name", i)
		}
		if slices.Contains(u.Columns[:i], c) {
			return fmt.Errorf("column %q listed twice", c)
		}
	}
	for _, k := range u.Key {
		if !slices.Contains(u.Columns, k) {
			return fmt.Errorf("key column %q is not among the columns", k)
		}
	}
	for _, c := range u.Update {
		if !slices.Contains(u.Columns, c) {
			return fmt.Errorf("update column %q is not among the columns", c)
		}
		if slices.Contains(u.Key, c) {
			return fmt.Errorf("update column %q is a key column", c)
		}
	}
	if n, limit := u.Rows*len(u.Columns), d.MaxPlaceholders(); n > limit {
		return fmt.Errorf("%d rows of %d columns need %d arguments; %s allows %d per statement",
			u.Rows, len(u.Columns), n, d.name, limit)
	}
	return nil
}

package sqltable

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
)

// ErrLayout is wrapped by the error of [Open] for an existing table that
// does not have the archive layout (see [dialect.Dialect.CreateTable]): a
// column missing, key_hash not its primary key (nor alone in a unique
// key), or a column of a type that cannot hold what the Table stores.
// The message lists every difference, as in
//
//	sqltable fib: open: the table does not match the archive layout: key_hash is not the primary key; value is text, want bytea (codec gob)
var ErrLayout = errors.New("sqltable: the table does not match the archive layout")

// archiveColumns are the columns a Table reads or writes.
var archiveColumns = []string{
	"key_hash", "key_text", "args", "value", "size_bytes",
	"created_at", "updated_at", "expires_at",
}

// checkLayout checks that the table, whose columns have types (as
// columnTypes reads them), has the layout of an archive table, with a value
// column of the type the codec needs. It reads the unique keys.
func (t *Table[V]) checkLayout(ctx context.Context, types map[string]string) error {
	var problems []string
	var missing []string
	for _, c := range archiveColumns {
		if _, ok := types[c]; !ok {
			missing = append(missing, c)
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		problems = append(problems, "it has no "+missing[0]+" column")
	default:
		problems = append(problems, "it has no "+strings.Join(missing, ", ")+" columns")
	}
	var keys [][]string
	err := t.do(ctx, true, func(ctx context.Context) (err error) {
		keys, err = t.uniqueKeys(ctx)
		return err
	})
	if err != nil {
		return err
	}
	_, hasHash := types["key_hash"]
	if hasHash && !slices.ContainsFunc(keys, func(k []string) bool { return len(k) == 1 && k[0] == "key_hash" }) {
		problem := "key_hash is not the primary key"
		if len(keys) > 0 {
			problem += fmt.Sprintf(" (its unique keys are on %s)", formatKeys(keys))
		}
		problems = append(problems, problem)
	}
	for _, c := range archiveColumns {
		typ, ok := types[c]
		if !ok {
			continue
		}
		r := columnRule(t.d, c, t.codec.Binary())
		if !r.ok(typ) {
			p := fmt.Sprintf("%s is %s, want %s", c, typ, r.want)
			if c == "value" {
				p += fmt.Sprintf(" (codec %v)", t.codec)
			}
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return errmark.Errorf(ErrLayout, "the table does not match the archive layout: %s", strings.Join(problems, "; "))
	}
	return nil
}

// formatKeys returns keys as a message lists them: (a), (b, c).
func formatKeys(keys [][]string) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = "(" + strings.Join(k, ", ") + ")"
	}
	return strings.Join(s, ", ")
}

// uniqueKeys returns the columns of each primary or unique key of the
// table that holds whole columns, for every row: those of partial indexes,
// of expressions or of column prefixes are left out. A part that is an
// expression is named "?".
func (t *Table[V]) uniqueKeys(ctx context.Context) ([][]string, error) {
	rows, err := t.db.QueryContext(ctx, t.sql.uniqueKeys, t.name)
	if err != nil {
		return nil, fmt.Errorf("read the keys of %s: %w", t.name, err)
	}
	defer rows.Close()
	var names []string
	byName := make(map[string][]string)
	for rows.Next() {
		var index string
		var column sql.NullString
		if err := rows.Scan(&index, &column); err != nil {
			return nil, fmt.Errorf("read the keys of %s: %w", t.name, err)
		}
		if _, ok := byName[index]; !ok {
			names = append(names, index)
		}
		c := strings.ToLower(column.String)
		if !column.Valid {
			c = "?"
		}
		byName[index] = append(byName[index], c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the keys of %s: %w", t.name, err)
	}
	keys := make([][]string, len(names))
	for i, n := range names {
		keys[i] = byName[n]
	}
	return keys, nil
}

// uniqueKeysQuery returns the query of the unique keys of a table, whose
// name is its argument, as uniqueKeys reads them: one row for each column
// of each key, with the key's name.
func uniqueKeysQuery(d *dialect.Dialect) string {
	switch d {
	case dialect.SQLite:
		// A primary key that is the rowid (INTEGER PRIMARY KEY) has no
		// index: it is read from the table's columns.
		return `SELECT il.name, ii.name FROM pragma_index_list(?1) AS il, pragma_index_info(il.name) AS ii ` +
			`WHERE il."unique" = 1 AND il.partial = 0 ` +
			`UNION ALL SELECT 'rowid', name FROM pragma_table_info(?1) WHERE pk > 0 ` +
			`AND NOT EXISTS (SELECT 1 FROM pragma_index_list(?1) WHERE origin = 'pk')`
	case dialect.Postgres:
		// The table found by its oid, whose planning takes a fraction of
		// that of joins on its name and schema (0.3 ms against 2).
		return `SELECT ic.relname, a.attname FROM pg_catalog.pg_index i ` +
			`JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid ` +
			// The key columns only, not those of INCLUDE.
			`JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts-1]) ` +
			`WHERE i.indrelid = ` + pgTableOID + ` AND i.indisunique AND i.indisvalid ` +
			`AND i.indpred IS NULL AND i.indexprs IS NULL ORDER BY ic.relname, a.attnum`
	default:
		return `SELECT index_name, column_name FROM information_schema.statistics ` +
			`WHERE table_schema = DATABASE() AND table_name = ? AND non_unique = 0 AND sub_part IS NULL ` +
			`ORDER BY index_name, seq_in_index`
	}
}

// rule is the types a column of an archive table may have.
type rule struct {
	want string // the type CreateTable gives it
	ok   func(typ string) bool
}

// columnRule returns the rule of column c of an archive table, of dialect
// d, whose value column holds binary values if binary is true, JSON
// otherwise. Types are as the columns query reads them, in lower case:
// the declared type on SQLite, information_schema's data_type on
// PostgreSQL (as pgColumns reads it from pg_catalog), and its column_type, with lengths, on MySQL.
func columnRule(d *dialect.Dialect, c string, binary bool) rule {
	is := func(want string, types ...string) rule {
		return rule{want, func(typ string) bool { return slices.Contains(types, typ) }}
	}
	switch d {
	case dialect.SQLite:
		// By the affinity the declared type gives the column: a column of
		// another affinity converts what it stores, such as JSON text
		// "1.0" that a NUMERIC column stores as the number 1.
		affinity := func(want string, affinities ...string) rule {
			return rule{want, func(typ string) bool { return slices.Contains(affinities, sqliteAffinity(typ)) }}
		}
		switch {
		case c == "key_hash" || c == "value" && binary:
			return affinity("blob", "blob")
		case c == "size_bytes":
			return affinity("integer", "integer", "numeric")
		case strings.HasSuffix(c, "_at"):
			// TEXT, or a date type, which the driver reads as a time.
			return rule{"text", func(typ string) bool {
				return sqliteAffinity(typ) == "text" || strings.Contains(typ, "date") || strings.Contains(typ, "time")
			}}
		}
		return affinity("text", "text")
	case dialect.Postgres:
		switch {
		case c == "key_hash" || c == "value" && binary:
			return is("bytea", "bytea")
		case c == "key_text":
			return is("text", "text", "character varying")
		case c == "args" || c == "value":
			return is("jsonb", "jsonb", "json")
		case c == "size_bytes":
			return is("bigint", "bigint", "integer", "numeric")
		}
		return is("timestamp with time zone", "timestamp with time zone")
	}
	base := func(typ string) string {
		typ, _, _ = strings.Cut(typ, "(")
		typ, _, _ = strings.Cut(typ, " ")
		return typ
	}
	of := func(want string, bases ...string) rule {
		return rule{want, func(typ string) bool { return slices.Contains(bases, base(typ)) }}
	}
	switch {
	case c == "key_hash":
		// A longer BINARY pads the hash with zeros.
		return rule{"binary(32)", func(typ string) bool { return typ == "binary(32)" || base(typ) == "varbinary" }}
	case c == "value" && binary:
		return of("longblob", "longblob", "mediumblob", "blob", "varbinary")
	case c == "key_text":
		return of("longtext", "longtext", "mediumtext", "text", "varchar")
	case c == "args" || c == "value":
		// MariaDB's JSON is LONGTEXT.
		return of("json", "json", "longtext", "mediumtext", "text")
	case c == "size_bytes":
		return of("bigint", "bigint", "int", "decimal")
	}
	return of("datetime(6)", "datetime")
}

// sqliteAffinity returns the affinity of a SQLite column of the declared
// type typ, in lower case, by the rules of SQLite's "Datatypes" page.
func sqliteAffinity(typ string) string {
	has := func(s ...string) bool {
		return slices.ContainsFunc(s, func(s string) bool { return strings.Contains(typ, s) })
	}
	switch {
	case has("int"):
		return "integer"
	case has("char", "clob", "text"):
		return "text"
	case has("blob") || typ == "":
		return "blob"
	case has("real", "floa", "doub"):
		return "real"
	}
	return "numeric"
}

package dialect

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// Querier is the subset of *sql.DB, *sql.Tx and *sql.Conn that the dialect's
// queries need.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tables returns the names of the tables in the current schema, sorted: the
// main database on SQLite (without its sqlite_ tables), current_schema() on
// PostgreSQL, DATABASE() on MySQL. Views are not listed. Errors from q are
// wrapped.
func (d *Dialect) Tables(ctx context.Context, q Querier) ([]string, error) {
	var query string
	switch d.kind {
	case sqlite:
		query = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`
	case postgres:
		query = `SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()`
	default:
		query = `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("dialect: list tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("dialect: list tables: %w", err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dialect: list tables: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// TableExists reports whether the current schema (as for [Dialect.Tables])
// has a table called name. name is compared exactly, so it is not validated.
// Errors from q are wrapped.
func (d *Dialect) TableExists(ctx context.Context, q Querier, name string) (bool, error) {
	var query string
	switch d.kind {
	case sqlite:
		query = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	case postgres:
		query = `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1`
	default:
		query = `SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' AND table_name = ?`
	}
	var n int
	if err := q.QueryRowContext(ctx, query, name).Scan(&n); err != nil {
		return false, fmt.Errorf("dialect: look up table %q: %w", name, err)
	}
	return n > 0, nil
}

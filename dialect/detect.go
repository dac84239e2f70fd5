package dialect

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// ErrUndetected is wrapped by the errors of [Detect] when it cannot tell
// which database is behind a Querier: a transaction, which does not show
// its driver, or a driver that this package does not know and a database
// that answers neither of its queries.
var ErrUndetected = errors.New("dialect: cannot detect the database")

// MismatchError reports a dialect named for a database of another one, as
// [Resolve] finds it: rather than the database's own error at the first
// statement that the dialect spells its way, such as PostgreSQL's
// `function database() does not exist`.
type MismatchError struct {
	Dialect  *Dialect // the dialect named
	Database *Dialect // the dialect of the database
	Driver   string   // the package path of the database's driver, such as "github.com/lib/pq"
	Queried  bool     // whether Database was found by a query, the driver being unknown
}

// Error returns, for example,
// `dialect postgres does not match the database's driver (github.com/go-sql-driver/mysql, dialect mysql)`.
func (e *MismatchError) Error() string {
	if e.Queried {
		return fmt.Sprintf("dialect %s does not match the database (driver %s, which answers as %s)",
			e.Dialect, e.Driver, e.Database)
	}
	return fmt.Sprintf("dialect %s does not match the database's driver (%s, dialect %s)", e.Dialect, e.Driver, e.Database)
}

// The package paths of the drivers Detect knows.
const (
	moderncPkg = "modernc.org/sqlite"
	pqPkg      = "github.com/lib/pq"
	pgxPrefix  = "github.com/jackc/pgx/" // pgx v4 and v5: …/v4/stdlib, …/v5/stdlib
)

// Detect returns the dialect of the database behind q, found from its
// database/sql driver, without importing any driver:
//
//   - for a *sql.DB, or any q with its Driver() driver.Driver method (such
//     as *sqlx.DB), from the Go type of the driver;
//   - for a *sql.Conn, or any q with its Raw method (such as *sqlx.Conn),
//     from the Go type of the driver's connection, seen through Raw.
//
// Drivers are recognized by the package path of their type:
// github.com/mattn/go-sqlite3 and modernc.org/sqlite are [SQLite],
// github.com/lib/pq and github.com/jackc/pgx (v4 and v5, through their
// stdlib package) are [Postgres], and github.com/go-sql-driver/mysql is
// [MySQL] (MariaDB included). For another driver, such as one that wraps
// these for tracing, Detect asks the database: SELECT version() names
// PostgreSQL, or gives a MySQL or MariaDB version; else SELECT
// sqlite_version() answers on SQLite. Queries that fail change nothing in
// the database.
//
// A *sql.Tx, or any other Querier, does not show its driver, and Detect
// does not query inside a caller's transaction: it returns an error
// wrapping [ErrUndetected] that says to name the dialect. So does a
// database that Detect cannot recognize.
func Detect(ctx context.Context, q Querier) (*Dialect, error) {
	d, _, err := detect(ctx, q)
	return d, err
}

// Resolve returns the dialect of the database behind q: d, if it is not
// nil, after checking that it matches the database, or else the dialect
// that [Detect] finds. The constructors that take a dialect in their
// options (sqltable.Open, sqlarchive.Open, the functions of package
// migrations) call it, so that nil means "find it".
//
// When the driver of q is known, or the database answers Detect's query,
// and its dialect is not d, Resolve returns a [*MismatchError]. When q does
// not show its driver, as with a *sql.Tx, or the database cannot be
// recognized, Resolve trusts d.
func Resolve(ctx context.Context, q Querier, d *Dialect) (*Dialect, error) {
	if d == nil {
		return Detect(ctx, q)
	}
	found, via, err := detect(ctx, q)
	switch {
	case err != nil:
		return d, nil // nothing to check against
	case found != d:
		return nil, &MismatchError{Dialect: d, Database: found, Driver: via.driver, Queried: via.queried}
	}
	return d, nil
}

// evidence says how detect found a dialect.
type evidence struct {
	driver  string // the package path of the driver's type
	queried bool   // whether the database was asked
}

// detect returns the dialect of the database behind q and how it found it.
func detect(ctx context.Context, q Querier) (*Dialect, evidence, error) {
	var pkg string
	switch q := q.(type) {
	case interface{ Driver() driver.Driver }: // *sql.DB
		pkg = pkgPath(q.Driver())
	case interface{ Raw(func(any) error) error }: // *sql.Conn
		err := q.Raw(func(conn any) error {
			pkg = pkgPath(conn)
			return nil
		})
		if err != nil {
			return nil, evidence{}, fmt.Errorf("dialect: detect the database: %w", err)
		}
	default:
		return nil, evidence{}, fmt.Errorf("%w behind a %T, which does not show its driver: name the dialect", ErrUndetected, q)
	}
	if d := driverDialect(pkg); d != nil {
		return d, evidence{driver: pkg}, nil
	}
	d, err := query(ctx, q)
	if err != nil {
		return nil, evidence{}, fmt.Errorf("%w behind driver %s: %w; name the dialect", ErrUndetected, describe(pkg), err)
	}
	return d, evidence{driver: describe(pkg), queried: true}, nil
}

// driverDialect returns the dialect of the driver whose types are in the
// package pkg, or nil if it is not one Detect knows.
func driverDialect(pkg string) *Dialect {
	switch {
	case pkg == sqlitePkg, pkg == moderncPkg:
		return SQLite
	case pkg == pqPkg, strings.HasPrefix(pkg, pgxPrefix):
		return Postgres
	case pkg == mysqlPkg:
		return MySQL
	}
	return nil
}

// pkgPath returns the package path of the type of v, or of the type it
// points to.
func pkgPath(v any) string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return ""
	}
	return t.PkgPath()
}

// describe returns pkg, or a word for a driver whose type has no package.
func describe(pkg string) string {
	if pkg == "" {
		return "(unnamed type)"
	}
	return pkg
}

// query asks the database behind q which one it is. SELECT version() runs
// first: it answers on PostgreSQL and MySQL, so that a PostgreSQL
// transaction is never aborted by a failing statement; SQLite, which has
// no version(), answers sqlite_version().
func query(ctx context.Context, q Querier) (*Dialect, error) {
	var v string
	verr := q.QueryRowContext(ctx, `SELECT version()`).Scan(&v)
	if verr == nil {
		switch {
		case strings.HasPrefix(v, "PostgreSQL"):
			return Postgres, nil
		case strings.Contains(v, "MariaDB"), v != "" && v[0] >= '0' && v[0] <= '9':
			return MySQL, nil
		}
		return nil, fmt.Errorf("its version() %q is not that of PostgreSQL, MySQL or MariaDB", v)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := q.QueryRowContext(ctx, `SELECT sqlite_version()`).Scan(&v); err != nil {
		return nil, fmt.Errorf("it answers neither SELECT version() (%v) nor SELECT sqlite_version() (%w)", verr, err)
	}
	return SQLite, nil
}

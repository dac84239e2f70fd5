// Package dialect holds every difference between the SQL databases klepto
// supports: SQLite, MySQL (and MariaDB) and PostgreSQL. A dialect is a value,
// [SQLite], [MySQL] or [Postgres], passed explicitly; [Lookup] finds one by
// name for command-line flags, and [Detect] finds the one of a *sql.DB or
// *sql.Conn from its driver. [Resolve], which the constructors of the other
// packages call, checks a named dialect against the database, or detects it.
//
// A [Dialect] validates and quotes table names ([ValidateTableName],
// [Dialect.QuoteIdent]), writes placeholders ([Dialect.Placeholder],
// [Dialect.Rebind]), builds the DDL of an archive table
// ([Dialect.CreateTable]) and multi-row upserts ([Dialect.Upsert]), lists
// tables ([Dialect.Tables]), serializes DDL across processes
// ([Dialect.WithDDLLock]) and converts timestamps ([Dialect.TimeArg],
// [Dialect.ScanTime]). [IsBusy], [IsDeadlock], [Retryable] and their siblings
// classify driver errors: those of github.com/mattn/go-sqlite3,
// modernc.org/sqlite, github.com/lib/pq, github.com/jackc/pgx and
// github.com/go-sql-driver/mysql. [SQLiteDSN] gives the recommended SQLite
// settings for go-sqlite3, [ModerncSQLiteDSN] the same settings for
// modernc.org/sqlite.
//
// The package imports no database driver: it works on any *sql.DB the caller
// opened, and recognizes driver errors without linking the drivers. Every
// identifier it writes into SQL is quoted, and every value is a bind
// parameter. The conformance suite in package dialecttest checks a dialect
// against a live database.
//
// Errors name their subject once, after the package, as in
// `dialect: invalid table name "Fib": upper-case letter 'F' at byte 0; names are lower case`
// or `dialect postgres does not match the database's driver (github.com/go-sql-driver/mysql, dialect mysql)`;
// the rule is written in the Errors section of package
// [github.com/klepto-sql/klepto/sqltable].
//
// Dialects are immutable and safe for concurrent use.
package dialect

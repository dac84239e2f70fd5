//go:build !cgo || modernc

package main

import (
	_ "modernc.org/sqlite" // driver "sqlite"

	"github.com/klepto-sql/klepto/dialect"
)

// The SQLite driver: modernc.org/sqlite, in pure Go, for builds without
// cgo (CGO_ENABLED=0) or with -tags modernc. By default, with cgo,
// klepto-sql uses github.com/mattn/go-sqlite3 (see sqlite_cgo.go).
const (
	sqliteDriver = "sqlite"
	sqliteModule = "modernc.org/sqlite"
)

// sqliteDSN returns the DSN of sqliteDriver for the SQLite file at path.
func sqliteDSN(path string) string { return dialect.ModerncSQLiteDSN(path) }

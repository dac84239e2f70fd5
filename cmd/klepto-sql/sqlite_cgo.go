//go:build cgo && !modernc

package main

import (
	_ "github.com/mattn/go-sqlite3" // driver "sqlite3"

	"github.com/klepto-sql/klepto/dialect"
)

// The SQLite driver: github.com/mattn/go-sqlite3, with cgo. Building with
// -tags modernc or CGO_ENABLED=0 selects modernc.org/sqlite instead (see
// sqlite_modernc.go).
const (
	sqliteDriver = "sqlite3"
	sqliteModule = "github.com/mattn/go-sqlite3"
)

// sqliteDSN returns the DSN of sqliteDriver for the SQLite file at path.
func sqliteDSN(path string) string { return dialect.SQLiteDSN(path) }

package dialect

import (
	"fmt"
	"strings"

	"github.com/klepto-sql/klepto/codec"
)

// Layout is the version of the archive table layout that
// [Dialect.CreateTable] creates. It is recorded per archive in the catalog,
// so that a later layout can upgrade older tables.
const Layout = 1

// IndexName returns the name of the index on expires_at of the archive
// table called table: klepto_ix_<table>_exp, at most 62 bytes, under
// PostgreSQL's 63-byte limit. Its reserved klepto_ prefix keeps it apart
// from every table name ValidateTableName accepts.
func IndexName(table string) string { return "klepto_ix_" + table + "_exp" }

// CreateTable returns the statements that create the archive table called
// table, unless it exists, for values encoded with c. Run them in order,
// under [Dialect.WithDDLLock] when several processes may create the same
// table. table must pass [ValidateTableName]; an invalid name or codec is an
// error.
//
// Every archive table has these columns (SQLite / PostgreSQL / MySQL types):
//
//	key_hash     PRIMARY KEY, sha256 of key_text   BLOB / BYTEA / BINARY(32)
//	key_text     NOT NULL, the keymap's text       TEXT / TEXT / LONGTEXT utf8mb4_bin
//	args         canonical JSON of the arguments   TEXT json / JSONB / JSON, nullable
//	value        NOT NULL, codec JSON              TEXT json / JSONB / JSON
//	             NOT NULL, codecs Gob and Raw      BLOB / BYTEA / LONGBLOB
//	size_bytes   NOT NULL DEFAULT 0                INTEGER / BIGINT / BIGINT
//	hits         NOT NULL DEFAULT 0                INTEGER / BIGINT / BIGINT
//	created_at   NOT NULL DEFAULT now              timestamp (below)
//	updated_at   NOT NULL DEFAULT now              timestamp
//	accessed_at  NOT NULL DEFAULT now              timestamp
//	expires_at   nullable; NULL never expires      timestamp, indexed
//
// The hits and accessed_at columns count the reads that found the entry,
// and the time of the last one, when package sqltable's AccessLog
// maintains them; otherwise klepto leaves them at their defaults.
//
// Timestamps are TEXT on SQLite, holding ISO-8601 UTC with milliseconds
// ("2026-11-27T06:25:59.037Z", the form of SQLite's
// strftime('%Y-%m-%dT%H:%M:%fZ','now'), so they sort as text and read well in
// the sqlite3 shell), TIMESTAMPTZ on PostgreSQL and DATETIME(6) holding UTC on
// MySQL. Bind them with [Dialect.TimeArg] and scan them with
// [Dialect.ScanTime].
//
// Bind JSON columns (args, and value with the JSON codec) as a Go string, not
// []byte: SQLite would store a []byte as a BLOB, which json_valid rejects, and
// MySQL 8 refuses binary strings for JSON columns. JSON columns accept only
// valid JSON; PostgreSQL's JSONB also normalizes it (key order, white space).
func (d *Dialect) CreateTable(table string, c codec.Codec) ([]string, error) {
	if err := ValidateTableName(table); err != nil {
		return nil, err
	}
	if !c.Valid() {
		return nil, fmt.Errorf("dialect: create table %q: invalid codec %d", table, uint8(c))
	}
	t := d.QuoteIdent(table)
	// Index names share a namespace with table names (per database on
	// SQLite, per schema on PostgreSQL): the reserved prefix keeps them
	// apart from every archive table, such as one called fib_expires_at.
	index := d.QuoteIdent(IndexName(table))
	switch d.kind {
	case sqlite:
		value := `"value" TEXT NOT NULL CHECK (json_valid("value"))`
		if c.Binary() {
			value = `"value" BLOB NOT NULL`
		}
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + t + ` (
  "key_hash" BLOB NOT NULL PRIMARY KEY CHECK (length("key_hash") = 32),
  "key_text" TEXT NOT NULL,
  "args" TEXT CHECK ("args" IS NULL OR json_valid("args")),
  ` + value + `,
  "size_bytes" INTEGER NOT NULL DEFAULT 0,
  "hits" INTEGER NOT NULL DEFAULT 0,
  "created_at" TEXT NOT NULL DEFAULT ` + sqliteNow + `,
  "updated_at" TEXT NOT NULL DEFAULT ` + sqliteNow + `,
  "accessed_at" TEXT NOT NULL DEFAULT ` + sqliteNow + `,
  "expires_at" TEXT
)`,
			`CREATE INDEX IF NOT EXISTS ` + index + ` ON ` + t + ` ("expires_at") WHERE "expires_at" IS NOT NULL`,
		}, nil
	case postgres:
		value := `"value" JSONB NOT NULL`
		if c.Binary() {
			value = `"value" BYTEA NOT NULL`
		}
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + t + ` (
  "key_hash" BYTEA NOT NULL PRIMARY KEY CHECK (octet_length("key_hash") = 32),
  "key_text" TEXT NOT NULL,
  "args" JSONB,
  ` + value + `,
  "size_bytes" BIGINT NOT NULL DEFAULT 0,
  "hits" BIGINT NOT NULL DEFAULT 0,
  "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "accessed_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "expires_at" TIMESTAMPTZ
)`,
			`CREATE INDEX IF NOT EXISTS ` + index + ` ON ` + t + ` ("expires_at") WHERE "expires_at" IS NOT NULL`,
		}, nil
	default: // mysql
		value := "`value` JSON NOT NULL"
		if c.Binary() {
			value = "`value` LONGBLOB NOT NULL"
		}
		// One statement: MySQL commits DDL implicitly, so a second statement
		// could fail after the first took effect.
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + t + " (\n" +
				"  `key_hash` BINARY(32) NOT NULL PRIMARY KEY,\n" +
				"  `key_text` LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,\n" +
				"  `args` JSON NULL,\n" +
				"  " + value + ",\n" +
				"  `size_bytes` BIGINT NOT NULL DEFAULT 0,\n" +
				"  `hits` BIGINT NOT NULL DEFAULT 0,\n" +
				"  `created_at` DATETIME(6) NOT NULL DEFAULT " + mysqlNow + ",\n" +
				"  `updated_at` DATETIME(6) NOT NULL DEFAULT " + mysqlNow + ",\n" +
				"  `accessed_at` DATETIME(6) NOT NULL DEFAULT " + mysqlNow + ",\n" +
				"  `expires_at` DATETIME(6) NULL,\n" +
				"  KEY " + index + " (`expires_at`)\n" +
				") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
		}, nil
	}
}

// DropTable returns the statement that drops the archive table called table,
// with its indexes, if it exists. table must pass [ValidateTableName].
func (d *Dialect) DropTable(table string) (string, error) {
	if err := ValidateTableName(table); err != nil {
		return "", err
	}
	return "DROP TABLE IF EXISTS " + d.QuoteIdent(table), nil
}

// Column defaults for "now" in the stored form of each dialect.
const (
	sqliteNow = `(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`
	mysqlNow  = `(UTC_TIMESTAMP(6))`
)

// joinQuoted appends the quoted names, comma-separated.
func (d *Dialect) joinQuoted(b *strings.Builder, names []string) {
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.QuoteIdent(n))
	}
}

package sqltable_test

import (
	"database/sql"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// layoutColumns are the columns of an archive table, in order.
var layoutColumns = []string{"key_hash", "key_text", "args", "value", "size_bytes", "created_at", "updated_at", "expires_at"}

// handTypes returns the column types of an archive table of JSON values
// written by hand, as CreateTable writes them.
func handTypes(d *dialect.Dialect) map[string]string {
	switch d {
	case dialect.SQLite:
		return map[string]string{"key_hash": "BLOB NOT NULL", "key_text": "TEXT NOT NULL", "args": "TEXT", "value": "TEXT NOT NULL",
			"size_bytes": "INTEGER NOT NULL DEFAULT 0", "created_at": "TEXT NOT NULL", "updated_at": "TEXT NOT NULL", "expires_at": "TEXT"}
	case dialect.Postgres:
		return map[string]string{"key_hash": "BYTEA NOT NULL", "key_text": "TEXT NOT NULL", "args": "JSONB", "value": "JSONB NOT NULL",
			"size_bytes": "BIGINT NOT NULL DEFAULT 0", "created_at": "TIMESTAMPTZ NOT NULL", "updated_at": "TIMESTAMPTZ NOT NULL", "expires_at": "TIMESTAMPTZ"}
	}
	return map[string]string{"key_hash": "BINARY(32) NOT NULL", "key_text": "LONGTEXT NOT NULL", "args": "JSON", "value": "JSON NOT NULL",
		"size_bytes": "BIGINT NOT NULL DEFAULT 0", "created_at": "DATETIME(6) NOT NULL", "updated_at": "DATETIME(6) NOT NULL", "expires_at": "DATETIME(6) NULL"}
}

// createHand creates the table name with the columns of types, changed
// by change, and then the given extra column and constraint lines.
func createHand(t *testing.T, db *sql.DB, d *dialect.Dialect, name string, change map[string]string, extra ...string) {
	t.Helper()
	types := handTypes(d)
	maps.Copy(types, change)
	var lines []string
	for _, c := range layoutColumns {
		lines = append(lines, d.QuoteIdent(c)+" "+types[c])
	}
	lines = append(lines, extra...)
	exec(t, db, d, "CREATE TABLE "+d.QuoteIdent(name)+" (\n  "+strings.Join(lines, ",\n  ")+"\n)")
}

// autoID is an id column that is the primary key.
func autoID(d *dialect.Dialect) string {
	switch d {
	case dialect.SQLite:
		return "id INTEGER PRIMARY KEY"
	case dialect.Postgres:
		return "id BIGSERIAL PRIMARY KEY"
	}
	return "id BIGINT AUTO_INCREMENT PRIMARY KEY"
}

// Open refuses a table, made by hand, that does not have the archive
// layout, with an error wrapping ErrLayout that names every difference.
func TestOpenRefusesOtherLayouts(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		pick := func(sqlite, postgres, mysql string) string {
			switch d {
			case dialect.SQLite:
				return sqlite
			case dialect.Postgres:
				return postgres
			}
			return mysql
		}
		tests := []struct {
			name   string
			codec  codec.Codec
			change map[string]string
			extra  []string
			want   []string
		}{
			{name: "no primary key", want: []string{"key_hash is not the primary key"}},
			{name: "another primary key", extra: []string{autoID(d)},
				want: []string{"key_hash is not the primary key (its unique keys are on (id))"}},
			{name: "a wider primary key", extra: []string{"PRIMARY KEY (key_hash, size_bytes)"},
				want: []string{"key_hash is not the primary key (its unique keys are on (key_hash, size_bytes))"}},
			{name: "binary values in a JSON column", codec: codec.Gob, extra: []string{"PRIMARY KEY (key_hash)"},
				want: []string{pick("value is text, want blob (codec gob)", "value is jsonb, want bytea (codec gob)", ", want longblob (codec gob)")}}, // MariaDB's JSON is LONGTEXT
			{name: "JSON values in a binary column", change: map[string]string{"value": pick("BLOB NOT NULL", "BYTEA NOT NULL", "LONGBLOB NOT NULL")},
				extra: []string{"PRIMARY KEY (key_hash)"},
				want:  []string{pick("value is blob, want text (codec json)", "value is bytea, want jsonb (codec json)", "value is longblob, want json (codec json)")}},
			{name: "binary key text", change: map[string]string{"key_text": pick("BLOB NOT NULL", "BYTEA NOT NULL", "LONGBLOB NOT NULL")},
				extra: []string{"PRIMARY KEY (key_hash)"},
				want:  []string{pick("key_text is blob, want text", "key_text is bytea, want text", "key_text is longblob, want longtext")}},
			{name: "key hash of another type", change: map[string]string{"key_hash": pick("TEXT NOT NULL", "TEXT NOT NULL", "BINARY(64) NOT NULL")},
				extra: []string{"PRIMARY KEY (key_hash)"},
				want:  []string{pick("key_hash is text, want blob", "key_hash is text, want bytea", "key_hash is binary(64), want binary(32)")}},
			{name: "timestamps of another type", change: map[string]string{"created_at": pick("INTEGER NOT NULL", "TIMESTAMP NOT NULL", "TIMESTAMP(6) NOT NULL")},
				extra: []string{"PRIMARY KEY (key_hash)"},
				want:  []string{pick("created_at is integer, want text", "created_at is timestamp without time zone, want timestamp with time zone", "created_at is timestamp(6), want datetime(6)")}},
			{name: "several differences", change: map[string]string{"key_text": pick("BLOB NOT NULL", "BYTEA NOT NULL", "LONGBLOB NOT NULL")},
				want: []string{"key_hash is not the primary key; key_text is "}},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				name := "hand" + string(rune('a'+i))
				createHand(t, db, d, name, tc.change, tc.extra...)
				_, err := sqltable.Open[int](t.Context(), db, name, &sqltable.Options{Dialect: d, Codec: tc.codec})
				if !errors.Is(err, sqltable.ErrLayout) {
					t.Fatalf("Open: %v, want an error wrapping ErrLayout", err)
				}
				wantErr(t, err, append([]string{"sqltable " + name + ": open: the table does not match the archive layout: "}, tc.want...)...)
			})
		}
	})
}

// Open accepts a table made by hand with types equivalent to those
// CreateTable gives, and with key_hash alone in a unique key rather than
// the primary key; Put overwrites its entries, as in a table Open creates.
func TestOpenAcceptsEquivalentLayouts(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		type layout struct {
			name   string
			codec  codec.Codec
			change map[string]string
			extra  []string
		}
		tests := []layout{
			{name: "as created", extra: []string{"PRIMARY KEY (key_hash)"}},
			{name: "unique key", extra: []string{autoID(d), "UNIQUE (key_hash)"}},
		}
		switch d {
		case dialect.SQLite:
			tests = append(tests,
				layout{"equivalent types", codec.JSON, map[string]string{"key_text": "VARCHAR(255) NOT NULL", "value": "CLOB NOT NULL",
					"size_bytes": "BIGINT", "created_at": "DATETIME NOT NULL", "updated_at": "VARCHAR(30)"}, []string{"PRIMARY KEY (key_hash)"}},
				layout{"untyped binary", codec.Gob, map[string]string{"key_hash": "NOT NULL", "value": "NOT NULL"}, []string{"PRIMARY KEY (key_hash)"}})
		case dialect.Postgres:
			tests = append(tests,
				layout{"equivalent types", codec.JSON, map[string]string{"key_text": "VARCHAR NOT NULL", "value": "JSON NOT NULL", "args": "JSON",
					"size_bytes": "INTEGER NOT NULL DEFAULT 0"}, []string{"PRIMARY KEY (key_hash)"}},
				// The columns of INCLUDE are not of the key.
				layout{"unique key with INCLUDE", codec.JSON, nil, []string{autoID(d), "UNIQUE (key_hash) INCLUDE (expires_at)"}})
		default:
			tests = append(tests,
				layout{"equivalent types", codec.JSON, map[string]string{"key_hash": "VARBINARY(32) NOT NULL", "key_text": "VARCHAR(2000) NOT NULL",
					"value": "LONGTEXT NOT NULL", "args": "MEDIUMTEXT", "size_bytes": "INT NOT NULL DEFAULT 0", "created_at": "DATETIME(3) NOT NULL"},
					[]string{"PRIMARY KEY (key_hash)"}},
				layout{"binary values", codec.Gob, map[string]string{"value": "MEDIUMBLOB NOT NULL"}, []string{"PRIMARY KEY (key_hash)"}})
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				name := "hand" + string(rune('a'+i))
				createHand(t, db, d, name, tc.change, tc.extra...)
				tbl, err := sqltable.Open[int](t.Context(), db, name, &sqltable.Options{Dialect: d, Codec: tc.codec})
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer tbl.Close()
				for v := 1; v <= 3; v++ {
					if err := tbl.PutArgs(t.Context(), keymap.NewKey("(n=1)"), map[string]int{"n": 1}, v); err != nil {
						t.Fatal(err)
					}
				}
				mustGet(t, tbl, "(n=1)", 3)
				if n, err := tbl.Len(t.Context()); err != nil || n != 1 {
					t.Fatalf("Len = %d, %v; want 1", n, err)
				}
			})
		}
	})
}

package dialect

import (
	"fmt"
	"strconv"
	"strings"
)

// kind identifies one of the supported databases.
type kind uint8

const (
	sqlite kind = iota + 1
	mysql
	postgres
)

// Dialect describes how one database spells the SQL that klepto needs. The
// three values [SQLite], [MySQL] and [Postgres] are the only dialects; compare
// them with ==. Its methods must not be called on a nil *Dialect.
//
// A Dialect is immutable and safe for concurrent use.
type Dialect struct {
	kind kind
	name string
}

// The supported dialects.
var (
	// SQLite is SQLite 3.38 or later (JSON functions built in), through
	// github.com/mattn/go-sqlite3, which bundles a recent SQLite.
	SQLite = &Dialect{kind: sqlite, name: "sqlite"}
	// MySQL is MariaDB 10.5 or later and MySQL 8.0.13 or later, through
	// github.com/go-sql-driver/mysql.
	MySQL = &Dialect{kind: mysql, name: "mysql"}
	// Postgres is PostgreSQL 11 or later, through github.com/lib/pq. The
	// error classifiers also recognize pgx's errors.
	Postgres = &Dialect{kind: postgres, name: "postgres"}
)

// Lookup returns the dialect called name, for command-line flags and
// configuration files. It accepts "sqlite" (or "sqlite3"), "mysql" (or
// "mariadb") and "postgres" (or "postgresql"). Code that knows its database
// uses [SQLite], [MySQL] or [Postgres] directly.
func Lookup(name string) (*Dialect, error) {
	switch name {
	case "sqlite", "sqlite3":
		return SQLite, nil
	case "mysql", "mariadb":
		return MySQL, nil
	case "postgres", "postgresql":
		return Postgres, nil
	}
	return nil, fmt.Errorf("dialect: unknown dialect %q (want sqlite, mysql or postgres)", name)
}

// Name returns the dialect's canonical name: "sqlite", "mysql" or "postgres".
func (d *Dialect) Name() string { return d.name }

// String returns the dialect's name.
func (d *Dialect) String() string { return d.name }

// QuoteIdent quotes name as an SQL identifier: "name" on SQLite and
// PostgreSQL, `name` on MySQL, doubling any quote character inside. The result
// is safe to splice into SQL text whatever name holds; QuoteIdent does not
// validate it (see [ValidateTableName]).
func (d *Dialect) QuoteIdent(name string) string {
	q := `"`
	if d.kind == mysql {
		q = "`"
	}
	return q + strings.ReplaceAll(name, q, q+q) + q
}

// Placeholder returns the bind parameter for the i-th argument of a
// statement, counting from 1: "?" on SQLite and MySQL, "$i" on PostgreSQL.
func (d *Dialect) Placeholder(i int) string {
	if d.kind == postgres {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// Placeholders returns n comma-separated bind parameters for the arguments
// first, first+1, …, counting from 1, for VALUES and IN lists: "?, ?, ?" or
// "$4, $5, $6".
func (d *Dialect) Placeholders(first, n int) string {
	var b strings.Builder
	d.appendPlaceholders(&b, first, n)
	return b.String()
}

func (d *Dialect) appendPlaceholders(b *strings.Builder, first, n int) {
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		if d.kind == postgres {
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(first + i))
		} else {
			b.WriteByte('?')
		}
	}
}

// Rebind rewrites a query written with "?" placeholders into the dialect's
// form. On PostgreSQL each "?" outside a quoted string ('…') or quoted
// identifier ("…") becomes $1, $2, …; on SQLite and MySQL the query is
// returned unchanged. PostgreSQL's jsonb "?" operators cannot be written
// through Rebind; use jsonb_exists and friends instead.
func (d *Dialect) Rebind(query string) string {
	if d.kind != postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte // the quote we are inside, or 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0 // a doubled quote closes and reopens: same result
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// MaxPlaceholders returns the largest number of bind parameters one
// statement may carry: 32766 on SQLite (SQLITE_MAX_VARIABLE_NUMBER since
// SQLite 3.32, as bundled by go-sqlite3), 65535 on MySQL (server-side
// prepared statements) and PostgreSQL (the wire protocol's limit).
func (d *Dialect) MaxPlaceholders() int {
	if d.kind == sqlite {
		return 32766
	}
	return 65535
}

package dialect

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxTableName is the longest table name [ValidateTableName] accepts, in
// bytes. It leaves room under PostgreSQL's 63-byte identifier limit for the
// suffixes of index names derived from the table name.
const MaxTableName = 48

// ErrInvalidTableName is wrapped by every error from [ValidateTableName]; the
// message says what is wrong with the name.
var ErrInvalidTableName = errors.New("dialect: invalid table name")

// TableNameError is the error of [ValidateTableName]: the name, and what is
// wrong with it. It wraps [ErrInvalidTableName]. Packages that validate
// names of their own, such as archive names that hold a table name, use
// Problem to say what is wrong without naming the name twice.
type TableNameError struct {
	Name    string // the name refused
	Problem string // what is wrong, such as "upper-case letter 'F' at byte 0; names are lower case"
}

// Error returns, for example,
// `dialect: invalid table name "Fib": upper-case letter 'F' at byte 0; names are lower case`.
func (e *TableNameError) Error() string {
	return "dialect: invalid table name " + strconv.Quote(e.Name) + ": " + e.Problem
}

// Unwrap returns [ErrInvalidTableName].
func (e *TableNameError) Unwrap() error { return ErrInvalidTableName }

// reservedPrefixes are the table-name prefixes that belong to the databases
// themselves and to klepto's own tables.
var reservedPrefixes = []string{"sqlite_", "pg_", "klepto_"}

// ValidateTableName reports whether name may be used for an archive table.
// A valid name matches ^[a-z][a-z0-9_]{0,47}$ (lower-case ASCII letters,
// digits and underscores, starting with a letter, at most [MaxTableName]
// bytes) and does not start with a reserved prefix: sqlite_, pg_ or klepto_.
// The same names are then valid, and mean the same table, on every database.
//
// The error is a [*TableNameError], which wraps [ErrInvalidTableName] and
// names the problem, for example
// `dialect: invalid table name "Fib": upper-case letter 'F' at byte 0; names are lower case`.
// Valid names are still quoted with [Dialect.QuoteIdent] wherever they are used.
func ValidateTableName(name string) error {
	if problem := tableNameProblem(name); problem != "" {
		return &TableNameError{Name: name, Problem: problem}
	}
	return nil
}

func tableNameProblem(name string) string {
	if name == "" {
		return "empty"
	}
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		switch {
		case r >= 'a' && r <= 'z', r == '_' && i > 0, r >= '0' && r <= '9' && i > 0:
			i += size
			continue
		case r == utf8.RuneError && size == 1:
			return fmt.Sprintf("invalid UTF-8 at byte %d", i)
		case i == 0 && (r == '_' || r >= '0' && r <= '9'):
			return fmt.Sprintf("starts with %q; names start with a letter a-z", r)
		case r >= 'A' && r <= 'Z':
			return fmt.Sprintf("upper-case letter %q at byte %d; names are lower case", r, i)
		case r == '"' || r == '\'' || r == '`':
			return fmt.Sprintf("quote character %q at byte %d", r, i)
		case r == ';':
			return fmt.Sprintf("semicolon at byte %d", i)
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			return fmt.Sprintf("white space %q at byte %d", r, i)
		case r >= utf8.RuneSelf:
			return fmt.Sprintf("non-ASCII character %q at byte %d; only a-z, 0-9 and _ are allowed", r, i)
		default:
			return fmt.Sprintf("character %q at byte %d; only a-z, 0-9 and _ are allowed", r, i)
		}
	}
	if len(name) > MaxTableName {
		return fmt.Sprintf("%d bytes long; the limit is %d", len(name), MaxTableName)
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return fmt.Sprintf("the prefix %q is reserved", p)
		}
	}
	return ""
}

package sqlarchive

import (
	"errors"
	"fmt"
	"strings"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
)

// versionSeparator separates a function's name from its version in an
// archive name, and versionJoin joins them in the table name.
const (
	versionSeparator = "@"
	versionJoin      = "__"
)

// TableName returns the name of the database table that holds the archive
// called name, and the function version that name carries.
//
// An archive name is either a table name, valid for
// [dialect.ValidateTableName], which is then the table's own name, or
// base@version, the archive of version version of a memoized function
// (see [MemoizeOptions].Version), held in the table base__version, where
// the dots and hyphens of version become underscores: "fib@v2" is table
// fib__v2 and "fib@1.2-rc" table fib__1_2_rc. base must be a valid table
// name; version is made of lower-case letters a-z, digits, '.', '-' and '_',
// and starts with a letter or digit; and the table name must be valid, at
// most [dialect.MaxTableName] bytes long. Other names are an error wrapping
// [ErrInvalidName] that names the name once and says what is wrong, such
// as `sqlarchive: invalid archive name "Fib": upper-case letter 'F' at byte 0; names are lower case`;
// when the table name is at fault, it also wraps the *dialect.TableNameError.
//
// Two archive names may lead to one table (fib@1.2 and fib@1_2, or fib@v2
// and the plain fib__v2); the catalog gives each table to one archive only,
// so the second one to be opened is refused.
func TableName(name string) (table, version string, err error) {
	base, version, versioned := strings.Cut(name, versionSeparator)
	if err := dialect.ValidateTableName(base); err != nil {
		return "", "", nameError(name, base, err)
	}
	if !versioned {
		return base, "", nil
	}
	if problem := versionProblem(version); problem != "" {
		return "", "", nameError(name, "", fmt.Errorf("function version %q %s", version, problem))
	}
	table = base + versionJoin + strings.Map(func(r rune) rune {
		if r == '.' || r == '-' {
			return '_'
		}
		return r
	}, version)
	if err := dialect.ValidateTableName(table); err != nil {
		return "", "", nameError(name, table, err)
	}
	return table, version, nil
}

// nameError returns the error of the invalid archive name name. err says
// what is wrong: a *dialect.TableNameError about table, a part of name or
// the table name made of it, whose problem it tells without naming the
// table again unless it differs from name, or another error.
func nameError(name, table string, err error) error {
	problem := err.Error()
	if te, ok := errors.AsType[*dialect.TableNameError](err); ok {
		problem = te.Problem
		if table != name && !strings.HasPrefix(name, table+versionSeparator) {
			problem = fmt.Sprintf("its table name %q: %s", table, problem)
		}
		return errmark.New(fmt.Sprintf("%v %q: %s", ErrInvalidName, name, problem), ErrInvalidName, te)
	}
	return errmark.New(fmt.Sprintf("%v %q: %s", ErrInvalidName, name, problem), ErrInvalidName)
}

// versionProblem says what is wrong with the function version v, or returns
// "" if it is valid.
func versionProblem(v string) string {
	if v == "" {
		return "is empty"
	}
	for i, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '-' || c == '_') && i > 0:
		case c == '.' || c == '-' || c == '_':
			return fmt.Sprintf("starts with %q; versions start with a letter a-z or a digit", c)
		case c >= 'A' && c <= 'Z':
			return fmt.Sprintf("has the upper-case letter %q at byte %d; versions are lower case", c, i)
		default:
			return fmt.Sprintf("has the character %q at byte %d; only a-z, 0-9, '.', '-' and '_' are allowed", c, i)
		}
	}
	return ""
}

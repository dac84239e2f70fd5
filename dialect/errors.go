package dialect

import (
	"reflect"
	"strings"
)

// The classifiers below recognize errors from the drivers without importing
// them, so that this package never registers or links a driver:
//
//   - PostgreSQL errors from lib/pq (*pq.Error) and pgx (*pgconn.PgError)
//     have a SQLState() string method;
//   - go-sql-driver/mysql's *mysql.MySQLError and go-sqlite3's sqlite3.Error
//     expose their codes only as struct fields (Number; Code and
//     ExtendedCode). Those two types are recognized by package path and type
//     name, and the field is read by reflection;
//   - modernc.org/sqlite's *sqlite.Error has a Code() int method, which
//     returns SQLite's extended result code; the type is recognized by
//     package path and type name too, since other errors may have a Code
//     method of another meaning.
//
// Each classifier searches the whole tree of wrapped errors, as errors.As
// does, so errors wrapped with %w by this module or by the caller are
// recognized. Driver errors are always wrapped, never replaced: callers can
// still use errors.As with the driver's own type.

const (
	sqlitePkg = "github.com/mattn/go-sqlite3"
	mysqlPkg  = "github.com/go-sql-driver/mysql"
)

// SQLite primary and extended result codes.
const (
	sqliteError                = 1
	sqliteBusy                 = 5
	sqliteLocked               = 6
	sqliteTooBig               = 18
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// IsBusy reports whether err says a lock could not be had in time, so the
// operation may succeed if retried: SQLite SQLITE_BUSY or SQLITE_LOCKED
// ("database is locked", after busy_timeout), MySQL 1205 (lock wait timeout,
// also MariaDB's NOWAIT) or 3572 (MySQL 8's NOWAIT), PostgreSQL 55P03
// (lock_not_available, as from NOWAIT or lock_timeout).
func IsBusy(err error) bool {
	return match(err, func(e dbError) bool {
		return e.sqlite == sqliteBusy || e.sqlite == sqliteLocked ||
			e.mysql == 1205 || e.mysql == 3572 ||
			e.state == "55P03"
	})
}

// IsDeadlock reports whether err says the transaction was chosen as the
// victim of a deadlock and rolled back: MySQL 1213, PostgreSQL 40P01. SQLite
// reports no deadlocks (see [IsBusy]). Sorting the rows of concurrent
// multi-row writes by key avoids most deadlocks; retry the rest.
func IsDeadlock(err error) bool {
	return match(err, func(e dbError) bool { return e.mysql == 1213 || e.state == "40P01" })
}

// IsSerialization reports whether err is PostgreSQL's serialization failure
// (40001) of a REPEATABLE READ or SERIALIZABLE transaction, which succeeds if
// the whole transaction is retried. MySQL and SQLite report such conflicts as
// deadlocks and busy errors.
func IsSerialization(err error) bool {
	return match(err, func(e dbError) bool { return e.state == "40001" })
}

// Retryable reports whether the operation that returned err may succeed if it
// is retried, from the start of its transaction: [IsBusy], [IsDeadlock] or
// [IsSerialization].
func Retryable(err error) bool {
	return IsBusy(err) || IsDeadlock(err) || IsSerialization(err)
}

// IsTooLarge reports whether err says a value or statement exceeds a size
// limit of the database: SQLite SQLITE_TOOBIG, MySQL 1153 (packet larger
// than max_allowed_packet), 1301 (a result larger than max_allowed_packet)
// or 1406 (data too long for a column), PostgreSQL 54000
// (program_limit_exceeded, such as an index row that is too big).
//
// After 1153 the MySQL server closes the connection, so the next statement
// on it fails once with go-sql-driver's "invalid connection". The driver
// also checks its own maxAllowedPacket (64 MiB by default) before sending,
// and then returns mysql.ErrPktTooLarge, a plain error value that IsTooLarge
// does not recognize; compare with errors.Is where the driver is imported.
func IsTooLarge(err error) bool {
	return match(err, func(e dbError) bool {
		return e.sqlite == sqliteTooBig ||
			e.mysql == 1153 || e.mysql == 1301 || e.mysql == 1406 ||
			e.state == "54000"
	})
}

// IsMissingTable reports whether err says a table does not exist: SQLite's
// "no such table" (SQLITE_ERROR with that message), MySQL 1146, PostgreSQL
// 42P01 (undefined_table).
func IsMissingTable(err error) bool {
	return match(err, func(e dbError) bool {
		return e.sqlite == sqliteError && strings.Contains(e.message, "no such table") ||
			e.mysql == 1146 || e.state == "42P01"
	})
}

// IsUniqueViolation reports whether err says a row would duplicate the key of
// a primary key or unique constraint: SQLite SQLITE_CONSTRAINT_PRIMARYKEY or
// SQLITE_CONSTRAINT_UNIQUE, MySQL 1062, PostgreSQL 23505.
func IsUniqueViolation(err error) bool {
	return match(err, func(e dbError) bool {
		return e.sqliteExt == sqliteConstraintPrimaryKey || e.sqliteExt == sqliteConstraintUnique ||
			e.mysql == 1062 || e.state == "23505"
	})
}

// dbError holds the codes of one driver error; fields of other databases are
// zero.
type dbError struct {
	sqlite    int    // SQLite primary result code
	sqliteExt int    // SQLite extended result code
	message   string // SQLite error message
	mysql     int    // MySQL error number
	state     string // PostgreSQL SQLSTATE
}

// match reports whether the tree of err holds a driver error for which f
// reports true.
func match(err error, f func(dbError) bool) bool {
	for err != nil {
		if e, ok := inspect(err); ok && f(e) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, err := range u.Unwrap() {
				if match(err, f) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// inspect returns the codes of err if err itself is a driver error.
func inspect(err error) (dbError, bool) {
	if s, ok := err.(interface{ SQLState() string }); ok {
		return dbError{state: s.SQLState()}, true
	}
	v := reflect.ValueOf(err)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return dbError{}, false
		}
		v = v.Elem()
	}
	t := v.Type()
	switch {
	case t.PkgPath() == mysqlPkg && t.Name() == "MySQLError" && v.Kind() == reflect.Struct:
		if n, ok := intField(v, "Number"); ok {
			return dbError{mysql: n}, true
		}
	case t.PkgPath() == sqlitePkg && t.Name() == "Error" && v.Kind() == reflect.Struct:
		code, ok := intField(v, "Code")
		ext, _ := intField(v, "ExtendedCode")
		if ok {
			return dbError{sqlite: code, sqliteExt: ext, message: err.Error()}, true
		}
	case t.PkgPath() == moderncPkg && t.Name() == "Error":
		if c, ok := err.(interface{ Code() int }); ok {
			ext := c.Code()
			return dbError{sqlite: ext & 0xff, sqliteExt: ext, message: err.Error()}, true
		}
	case t.PkgPath() == sqlitePkg && t.Name() == "ErrNo" && v.CanInt():
		return dbError{sqlite: int(v.Int())}, true
	case t.PkgPath() == sqlitePkg && t.Name() == "ErrNoExtended" && v.CanInt():
		return dbError{sqlite: int(v.Int()) & 0xff, sqliteExt: int(v.Int())}, true
	}
	return dbError{}, false
}

// intField returns the integer field called name of the struct v.
func intField(v reflect.Value, name string) (int, bool) {
	f := v.FieldByName(name)
	switch {
	case f.CanInt():
		return int(f.Int()), true
	case f.CanUint():
		return int(f.Uint()), true
	}
	return 0, false
}

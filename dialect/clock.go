package dialect

import (
	"strconv"
	"time"
)

// Now returns the SQL expression of the database's current time, in the
// form of the archive tables' timestamp columns (see [Dialect.TimeArg]), so
// that it compares with them:
//
//	SQLite:     strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
//	PostgreSQL: clock_timestamp()
//	MySQL:      UTC_TIMESTAMP(6)
//
// It is the clock of the database server, the same for every process (on
// SQLite, the clock of the machine holding the file). Leases use it, so that
// processes whose clocks differ agree on when a lease expires.
func (d *Dialect) Now() string {
	switch d.kind {
	case sqlite:
		return `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`
	case postgres:
		return `clock_timestamp()`
	default:
		return `UTC_TIMESTAMP(6)`
	}
}

// NowPlus returns the SQL expression of the database's current time (see
// [Dialect.Now]) plus a duration given as one "?" placeholder, whose
// argument [Dialect.DurationArg] makes. Pass the SQL through
// [Dialect.Rebind] on PostgreSQL.
func (d *Dialect) NowPlus() string {
	switch d.kind {
	case sqlite:
		return `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)`
	case postgres:
		return `clock_timestamp() + make_interval(secs => CAST(? AS double precision))`
	default:
		return `UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND`
	}
}

// DurationArg returns the bind argument of the placeholder of
// [Dialect.NowPlus] for the duration dur: a date modifier such as
// "+5.000 seconds" on SQLite (milliseconds), seconds on PostgreSQL and
// microseconds on MySQL.
func (d *Dialect) DurationArg(dur time.Duration) any {
	switch d.kind {
	case sqlite:
		return strconv.FormatFloat(dur.Seconds(), 'f', 3, 64) + " seconds"
	case postgres:
		return dur.Seconds()
	default:
		return dur.Microseconds()
	}
}

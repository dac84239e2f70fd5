package dialect

import (
	"database/sql"
	"fmt"
	"time"
)

// Timestamp layouts. sqliteTime is the stored form on SQLite: fixed width, so
// that text order is time order, and the form of SQLite's own
// strftime('%Y-%m-%dT%H:%M:%fZ', 'now').
const (
	sqliteTime = "2006-01-02T15:04:05.000Z"
	mysqlTime  = "2006-01-02 15:04:05.000000"
)

// sqliteParse are the layouts ScanTime accepts on SQLite: the stored form,
// and what SQLite's date functions and hand-written rows produce.
var sqliteParse = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// serverParse are the layouts ScanTime accepts from MySQL and PostgreSQL
// drivers that return timestamps as text.
var serverParse = []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano}

// TimeArg returns t as a bind argument for a timestamp column of an archive
// table (see [Dialect.CreateTable]). The zero time is bound as NULL.
//
// On SQLite the argument is UTC text with milliseconds
// ("2026-11-27T06:25:59.037Z"); finer digits are dropped. On MySQL it is UTC
// text with microseconds, so the stored DATETIME is UTC whatever the
// connection's loc or time_zone. On PostgreSQL it is t itself, stored with
// microseconds.
func (d *Dialect) TimeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	switch d.kind {
	case sqlite:
		return t.UTC().Format(sqliteTime)
	case mysql:
		return t.UTC().Format(mysqlTime)
	default:
		return t
	}
}

// ScanTime returns a scan destination for a timestamp column of an archive
// table that stores the time, in UTC, into *t. NULL stores the zero time.
// It accepts what the drivers return for the column, whatever their options:
// time.Time (MySQL's parseTime=true, PostgreSQL), or text (SQLite, MySQL
// without parseTime). A MySQL DATETIME holds UTC, so its wall clock is read
// as UTC whatever the connection's loc.
func (d *Dialect) ScanTime(t *time.Time) sql.Scanner {
	return &timeScanner{d: d, t: t}
}

type timeScanner struct {
	d *Dialect
	t *time.Time
}

func (s *timeScanner) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.t = time.Time{}
		return nil
	case time.Time:
		if s.d.kind == mysql {
			v = time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
		}
		*s.t = v.UTC()
		return nil
	case []byte:
		return s.parse(string(v))
	case string:
		return s.parse(v)
	}
	return fmt.Errorf("dialect: scan %T into a %s timestamp", src, s.d.name)
}

func (s *timeScanner) parse(text string) error {
	layouts := sqliteParse
	if s.d.kind != sqlite {
		layouts = serverParse
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, text); err == nil {
			*s.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("dialect: scan %q as a %s timestamp", text, s.d.name)
}

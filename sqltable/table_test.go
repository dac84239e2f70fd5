package sqltable_test

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/klepto-sql/klepto/archive/archivetest"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

var (
	_ cache.Archive[int]      = (*sqltable.Table[int])(nil)
	_ cache.Lister[int]       = (*sqltable.Table[int])(nil)
	_ cache.ManyPutter[int]   = (*sqltable.Table[int])(nil)
	_ cache.ArgsPutter[int]   = (*sqltable.Table[int])(nil)
	_ cache.Archive[[]byte]   = (*sqltable.Table[[]byte])(nil)
	_ sqltable.Querier        = (*sql.DB)(nil)
	_ sqltable.Querier        = (*sql.Tx)(nil)
	_ sqltable.Querier        = (*sql.Conn)(nil)
	_ cache.ManyPutter[point] = (*sqltable.Table[point])(nil)
)

// point is a value with a few kinds of fields.
type point struct {
	N    int
	S    string
	Tags []string
}

func pointValue(i int) point {
	p := point{N: i, S: fmt.Sprintf("<p&%d> ünïcode", i)}
	if i%2 == 1 {
		p.Tags = []string{"odd", fmt.Sprint(i)}
	}
	return p
}

func bytesValue(i int) []byte { return []byte(fmt.Sprintf("\x00\xff%d", i)) }

// tableCount makes table names unique within a test binary.
var tableCount atomic.Int64

// newName returns a fresh table name.
func newName() string { return fmt.Sprintf("t%d", tableCount.Add(1)) }

// open opens a new table in db, closed when the test ends.
func open[V any](t testing.TB, db sqltable.Querier, d *dialect.Dialect, opts *sqltable.Options) *sqltable.Table[V] {
	t.Helper()
	o := sqltable.Options{Dialect: d}
	if opts != nil {
		o = *opts
		o.Dialect = d
	}
	tbl, err := sqltable.Open[V](context.Background(), db, newName(), &o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = tbl.Close() })
	return tbl
}

func TestArchive(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		t.Run("json", func(t *testing.T) {
			archivetest.Run(t, func(t *testing.T) cache.Archive[point] {
				return open[point](t, db, d, nil)
			}, pointValue)
		})
		t.Run("gob", func(t *testing.T) {
			archivetest.Run(t, func(t *testing.T) cache.Archive[point] {
				return open[point](t, db, d, &sqltable.Options{Codec: codec.Gob})
			}, pointValue)
		})
		t.Run("raw", func(t *testing.T) {
			archivetest.Run(t, func(t *testing.T) cache.Archive[[]byte] {
				return open[[]byte](t, db, d, &sqltable.Options{Codec: codec.Raw})
			}, bytesValue)
		})
	})
}

// mustPut stores value under the key of text.
func mustPut[V any](t testing.TB, tbl *sqltable.Table[V], text string, value V) {
	t.Helper()
	if err := tbl.Put(context.Background(), keymap.NewKey(text), value); err != nil {
		t.Fatalf("Put(%q): %v", text, err)
	}
}

// mustGet checks that the key of text holds want.
func mustGet[V any](t testing.TB, tbl *sqltable.Table[V], text string, want V) {
	t.Helper()
	got, found, err := tbl.Get(context.Background(), keymap.NewKey(text))
	if err != nil || !found || !reflect.DeepEqual(got, want) {
		t.Fatalf("Get(%.40q) = %v, %v, %v; want %v, true, nil", text, got, found, err, want)
	}
}

// mustMiss checks that the key of text is not found.
func mustMiss[V any](t testing.TB, tbl *sqltable.Table[V], text string) {
	t.Helper()
	got, found, err := tbl.Get(context.Background(), keymap.NewKey(text))
	if err != nil || found {
		t.Fatalf("Get(%.40q) = %v, %v, %v; want a miss", text, got, found, err)
	}
}

// mustLen checks the number of live entries.
func mustLen[V any](t testing.TB, tbl *sqltable.Table[V], want int) {
	t.Helper()
	n, err := tbl.Len(context.Background())
	if err != nil || n != want {
		t.Fatalf("Len = %d, %v; want %d", n, err, want)
	}
}

// keyTexts collects the texts Keys yields.
func keyTexts[V any](t testing.TB, tbl *sqltable.Table[V]) []string {
	t.Helper()
	var texts []string
	for k, err := range tbl.Keys(context.Background()) {
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		if k != keymap.NewKey(k.Text) {
			t.Fatalf("Keys yielded %q with a wrong hash", k.Text)
		}
		texts = append(texts, k.Text)
	}
	return texts
}

// exec runs a statement written with ? placeholders.
func exec(t testing.TB, db sqltable.Querier, d *dialect.Dialect, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), d.Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// wantErr fails unless err is an error whose text holds every part.
func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

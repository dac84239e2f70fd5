package sqltable_test

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// badRow is a row written by raw SQL that a Table cannot read.
type badRow struct {
	hash    []byte
	text    string
	created string // "" for the column's default
	key     string // the key BadRowError names
	problem string // what its message says
}

// badRows returns the bad rows that d's column types let exist.
func badRows(d *dialect.Dialect) []badRow {
	wrong := sha256.Sum256([]byte("something else"))
	invalid := sha256.Sum256([]byte("base64:!!"))
	rows := []badRow{
		{hash: wrong[:], text: "(n=wrong)", key: "(n=wrong)", problem: "is not the SHA-256 of key_text"},
		{hash: invalid[:], text: "base64:!!", key: "base64:!!", problem: "illegal base64 data"},
	}
	if d == dialect.SQLite {
		// Only SQLite stores timestamps as text, which can be anything.
		k := keymap.NewKey("(n=when)")
		rows = append(rows, badRow{hash: k.Hash[:], text: k.Text, created: "yesterday", key: k.Text, problem: `created_at: dialect: scan "yesterday"`})
	}
	return rows
}

// insertBad writes rows into table by raw SQL, with JSON value 1.
func insertBad(t *testing.T, db *sql.DB, d *dialect.Dialect, table string, rows []badRow) {
	t.Helper()
	for _, r := range rows {
		var err error
		if r.created == "" {
			_, err = db.ExecContext(t.Context(), d.Rebind("INSERT INTO "+d.QuoteIdent(table)+
				" (key_hash, key_text, value) VALUES (?, ?, '1')"), r.hash, r.text)
		} else {
			_, err = db.ExecContext(t.Context(), d.Rebind("INSERT INTO "+d.QuoteIdent(table)+
				" (key_hash, key_text, value, created_at) VALUES (?, ?, '1', ?)"), r.hash, r.text, r.created)
		}
		if err != nil {
			t.Fatalf("insert bad row %q: %v", r.text, err)
		}
	}
}

// putGood stores n good entries, (i)=i, enough for more than one page.
func putGood(t *testing.T, tbl *sqltable.Table[int], n int) {
	t.Helper()
	entries := make([]cache.Entry[int], n)
	for i := range entries {
		entries[i] = cache.Entry[int]{Key: keymap.NewKey(fmt.Sprintf("(%d)", i)), Value: i}
	}
	if err := tbl.PutMany(t.Context(), entries); err != nil {
		t.Fatal(err)
	}
}

// checkBad checks that errs are the *BadRowErrors of want, of operation
// op on table, in any order.
func checkBad(t *testing.T, errs []error, want []badRow, table, op string) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("%d bad rows reported (%v), want %d", len(errs), errs, len(want))
	}
	for _, w := range want {
		i := slices.IndexFunc(errs, func(err error) bool {
			var bad *sqltable.BadRowError
			return errors.As(err, &bad) && bad.Key == w.key && bad.Table == table && bad.Op == op &&
				strings.Contains(err.Error(), fmt.Sprintf("sqltable %s: %s: bad row, key %q: ", table, op, w.key)) &&
				strings.Contains(err.Error(), w.problem)
		})
		if i < 0 {
			t.Errorf("no *BadRowError of %s on %s for key %q saying %q in %v", op, table, w.key, w.problem, errs)
		}
	}
}

// Rows yields a *BadRowError naming the table and the key of each row it
// cannot read, and goes on with the next rows, across pages.
func TestRowsBadRows(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		tbl := open[int](t, db, d, nil)
		putGood(t, tbl, 1200)
		bad := badRows(d)
		insertBad(t, db, d, tbl.Name(), bad)
		var good int
		var errs []error
		for r, err := range tbl.Rows(t.Context()) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if r.Key.Text != fmt.Sprintf("(%d)", r.Value) || r.CreatedAt.IsZero() {
				t.Fatalf("Rows yielded %+v", r)
			}
			good++
		}
		if good != 1200 {
			t.Errorf("Rows yielded %d good rows, want 1200", good)
		}
		checkBad(t, errs, bad, tbl.Name(), "rows")
	})
}

// CopyTo stops at a bad row with a *BadRowError, unless OnBadRow skips it:
// then every good row is copied, and no bad one.
func TestCopyToBadRows(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		src := open[int](t, db, d, nil)
		putGood(t, src, 1200)
		bad := badRows(d)
		insertBad(t, db, d, src.Name(), bad)

		dst := open[int](t, db, d, nil)
		_, err := src.CopyTo(t.Context(), dst, nil)
		first, ok := errors.AsType[*sqltable.BadRowError](err)
		if !ok || !slices.ContainsFunc(bad, func(b badRow) bool { return b.key == first.Key }) {
			t.Fatalf("CopyTo over bad rows: %v, want a *BadRowError naming one", err)
		}
		checkBad(t, []error{err}, bad[slices.IndexFunc(bad, func(b badRow) bool { return b.key == first.Key }):][:1], src.Name(), "copy to "+dst.Name())

		var errs []error
		n, err := src.CopyTo(t.Context(), dst, &sqltable.CopyOptions{OnBadRow: func(bad *sqltable.BadRowError) error {
			errs = append(errs, bad)
			return nil
		}})
		if err != nil || n != 1200 {
			t.Fatalf("CopyTo skipping bad rows: %d, %v; want 1200 copied", n, err)
		}
		checkBad(t, errs, bad, src.Name(), "copy to "+dst.Name())
		if got, err := dst.Len(t.Context()); err != nil || got != 1200 {
			t.Fatalf("Len of the copy: %d, %v; want 1200", got, err)
		}
		for _, err := range dst.Rows(t.Context()) {
			if err != nil {
				t.Fatalf("the copy has a bad row: %v", err)
			}
		}

		stop := errors.New("stop")
		if _, err := src.CopyTo(t.Context(), dst, &sqltable.CopyOptions{OnBadRow: func(*sqltable.BadRowError) error { return stop }}); !errors.Is(err, stop) {
			t.Fatalf("CopyTo whose OnBadRow fails: %v, want its error", err)
		}
	})
}

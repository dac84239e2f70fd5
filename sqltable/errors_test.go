package sqltable_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// The messages are the subject of this test: the table once, after the
// package, then the operation and the key, as the package documentation
// says.
func TestErrorMessages(t *testing.T) {
	db := sqltest.SQLite(t)
	tbl, err := sqltable.Open[int](t.Context(), db, "fib", nil)
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err = tbl.Get(canceled, keymap.NewKey("(3)"))
	if want := `sqltable fib: get "(3)": context canceled`; err == nil || err.Error() != want {
		t.Errorf("Get on a canceled context: %v, want %s", err, want)
	}
	long := keymap.NewKey(strings.Repeat("k", 100))
	err = tbl.Delete(canceled, long)
	if want := `sqltable fib: delete "` + strings.Repeat("k", 64) + `"… (100 bytes, sha256 ` + hex.EncodeToString(long.Hash[:8]) + `): context canceled`; err == nil || err.Error() != want {
		t.Errorf("Delete of a long key: %v, want %s", err, want)
	}
	if err := tbl.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, err = tbl.Get(t.Context(), keymap.NewKey("(3)"))
	if want := `sqltable fib: get "(3)": table is closed`; !errors.Is(err, sqltable.ErrClosed) || err.Error() != want {
		t.Errorf("Get after Close: %v, want %s", err, want)
	}
	_, err = sqltable.Open[int](t.Context(), db, "fib", &sqltable.Options{TTL: -1})
	if want := `sqltable fib: open: negative TTL -1ns`; !errors.Is(err, sqltable.ErrInvalidOptions) || err.Error() != want {
		t.Errorf("Open with a negative TTL: %v, want %s", err, want)
	}
}

// Without Options.Dialect, Open finds the dialect from the driver; a
// dialect that does not match the driver is refused before any statement.
func TestOpenDialect(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		tbl, err := sqltable.Open[int](ctx, db, "fib", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tbl.Dialect() != d {
			t.Fatalf("Open without a dialect chose %v, want %v", tbl.Dialect(), d)
		}
		mustPut(t, tbl, "(n=1)", 1)

		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		onConn, err := sqltable.Open[int](ctx, conn, "fib", nil)
		if err != nil {
			t.Fatalf("Open over a *sql.Conn without a dialect: %v", err)
		}
		defer onConn.Close()
		mustGet(t, onConn, "(n=1)", 1)

		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := sqltable.Open[int](ctx, tx, "fib", nil); !errors.Is(err, dialect.ErrUndetected) {
			t.Errorf("Open over a *sql.Tx without a dialect: %v, want dialect.ErrUndetected", err)
		}
		inTx, err := sqltable.Open[int](ctx, tx, "fib", &sqltable.Options{Dialect: d})
		if err != nil {
			t.Fatalf("Open over a *sql.Tx with its dialect: %v", err)
		}
		mustGet(t, inTx, "(n=1)", 1)

		for _, other := range sqltest.Dialects() {
			if other == d {
				continue
			}
			_, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: other})
			var me *dialect.MismatchError
			if !errors.As(err, &me) || me.Dialect != other || me.Database != d {
				t.Errorf("Open with dialect %v on %v: %v, want a *dialect.MismatchError", other, d, err)
				continue
			}
			if want := "sqltable fib: open: dialect " + other.Name() + " does not match the database's driver ("; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Open with dialect %v on %v: %q, want it to start with %q", other, d, err, want)
			}
		}
	})
}

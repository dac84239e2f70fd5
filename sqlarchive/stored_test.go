package sqlarchive_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// stored opens the archive called name with Stored, closed when the test
// ends.
func stored(t *testing.T, a *sqlarchive.Archive, name string, opts *sqlarchive.StoredOptions) (*sqltable.Table[[]byte], sqlarchive.TableInfo) {
	t.Helper()
	tbl, info, err := sqlarchive.Stored(t.Context(), a, name, opts)
	if err != nil {
		t.Fatalf("Stored(%q): %v", name, err)
	}
	t.Cleanup(func() { _ = tbl.Close() })
	return tbl, info
}

// Stored reaches the values of every codec as they are stored.
func TestStored(t *testing.T) {
	type doc struct {
		Title string
		Tags  []string
	}
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		a := open(t, db, d, nil)
		docs := table[doc](t, a, "docs@v2", nil)
		put(t, docs, "a", doc{Title: "<a> & b", Tags: []string{"x"}})
		gobs := table[doc](t, a, "gobs", &sqlarchive.TableOptions{Codec: new(codec.Gob)})
		put(t, gobs, "a", doc{Title: "gob"})
		blobs := table[[]byte](t, a, "blobs", &sqlarchive.TableOptions{Codec: new(codec.Raw)})
		put(t, blobs, "a", []byte{0, 0xff})

		tbl, info := stored(t, a, "docs@v2", nil)
		if info.Name != "docs@v2" || info.Table != "docs__v2" || info.Codec != codec.JSON || tbl.Codec() != codec.JSON {
			t.Fatalf("Stored info = %+v, codec %v", info, tbl.Codec())
		}
		text, _ := get(t, tbl, "a")
		var got doc
		if err := json.Unmarshal(text, &got); err != nil || !reflect.DeepEqual(got, doc{Title: "<a> & b", Tags: []string{"x"}}) {
			t.Fatalf("stored JSON %s decodes to %+v, %v", text, got, err)
		}
		put(t, tbl, "b", []byte(`{"Title": "from JSON text"}`))
		if got, _ := get(t, docs, "b"); got.Title != "from JSON text" {
			t.Fatalf("Get of the JSON put as stored = %+v", got)
		}

		tbl, info = stored(t, a, "gobs", nil)
		want, err := codec.Encode(codec.Gob, doc{Title: "gob"})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := get(t, tbl, "a"); info.Codec != codec.Gob || !bytes.Equal(got, want) {
			t.Fatalf("stored gob = %q (codec %v), want %q", got, info.Codec, want)
		}

		tbl, _ = stored(t, a, "blobs", nil)
		if got, _ := get(t, tbl, "a"); !bytes.Equal(got, []byte{0, 0xff}) {
			t.Fatalf("stored raw = %q", got)
		}
	})
}

func TestStoredErrors(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := open(t, db, d, nil)
		if _, _, err := sqlarchive.Stored(ctx, a, "missing", nil); !errors.Is(err, sqlarchive.ErrNotFound) {
			t.Fatalf("Stored of a missing archive: %v, want ErrNotFound", err)
		}
		if exists, err := d.TableExists(ctx, db, "missing"); err != nil || exists {
			t.Fatalf("Stored of a missing archive made its table: %v, %v", exists, err)
		}
		if _, _, err := sqlarchive.Stored(ctx, a, "Bad", nil); !errors.Is(err, sqlarchive.ErrInvalidName) {
			t.Fatalf("Stored of an invalid name: %v, want ErrInvalidName", err)
		}
		if _, _, err := sqlarchive.Stored(ctx, nil, "fib", nil); !errors.Is(err, sqlarchive.ErrInvalidOptions) {
			t.Fatalf("Stored of a nil *Archive: %v, want ErrInvalidOptions", err)
		}

		// One layout check, with the error of Table.
		table[int](t, a, "fib", nil)
		if _, err := db.ExecContext(ctx, `UPDATE klepto_archives SET layout_version = 99`); err != nil {
			t.Fatal(err)
		}
		_, _, err := sqlarchive.Stored(ctx, a, "fib", nil)
		want := sqlarchive.MismatchError{Name: "fib", Field: "layout", Stored: "99", Requested: "1"}
		if m, ok := errors.AsType[*sqlarchive.MismatchError](err); !ok || *m != want {
			t.Fatalf("Stored of another layout: %v, want %+v", err, want)
		}
		if _, err := sqlarchive.Table[int](ctx, a, "fib", nil); err == nil || err.Error() != want.Error() {
			t.Fatalf("Table of another layout: %v, want %v", err, &want)
		}

		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := sqlarchive.Stored(ctx, a, "fib", nil); !errors.Is(err, sqlarchive.ErrClosed) {
			t.Fatalf("Stored after Close: %v, want ErrClosed", err)
		}
	})
}

// With StoredOptions.Tx, the catalog is read and the entries written in
// the transaction.
func TestStoredTx(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		if d == dialect.SQLite {
			db.SetMaxOpenConns(1) // nothing may need a second connection
		}
		a := open(t, db, d, nil)
		fib := table[int](t, a, "fib", nil)
		for _, commit := range []bool{false, true} {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			tbl, info, err := sqlarchive.Stored(ctx, a, "fib", &sqlarchive.StoredOptions{Tx: tx})
			if err != nil {
				t.Fatal(err)
			}
			if info.Name != "fib" {
				t.Fatalf("info = %+v", info)
			}
			if err := tbl.PutRows(ctx, []sqltable.Row[[]byte]{{Key: keymap.NewKey("a"), Value: []byte("55")}}); err != nil {
				t.Fatal(err)
			}
			if err := tbl.Close(); err != nil {
				t.Fatal(err)
			}
			if commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
			if v, found := get(t, fib, "a"); found != commit || found && v != 55 {
				t.Fatalf("after commit %v: Get = %d, %v", commit, v, found)
			}
		}
	})
}

// The tables of Stored record their changes in the change feed, pruned
// to the Archive's FeedWindow.
func TestStoredFeedWindow(t *testing.T) {
	ctx := t.Context()
	db := sqltest.SQLite(t)
	a := open(t, db, dialect.SQLite, &sqlarchive.Options{FeedWindow: 256})
	table[int](t, a, "fib", nil)
	tbl, _ := stored(t, a, "fib", nil)
	for range 401 { // the first writes a new key, which needs no record
		put(t, tbl, "a", []byte("1"))
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM klepto_changes WHERE table_name = 'fib' AND op = 'update'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n > 256 {
		t.Fatalf("the feed holds %d updates of fib, want 1 to 256", n)
	}
}

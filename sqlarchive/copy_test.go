package sqlarchive_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// copyOpen returns an Archive of db, closed when the test ends.
func copyOpen(t *testing.T, db *sql.DB, d *dialect.Dialect) *sqlarchive.Archive {
	t.Helper()
	a, err := sqlarchive.Open(t.Context(), db, &sqlarchive.Options{Dialect: d})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// copyRows returns the rows of the archive called name, with values
// written as text to compare: JSON with members sorted and no spaces (as
// databases may normalize it), and the fields of gob values.
func copyRows(t *testing.T, a *sqlarchive.Archive, name string) []sqltable.Row[string] {
	t.Helper()
	info, err := a.Info(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	var rows []sqltable.Row[string]
	add := func(r sqltable.Row[string], value string) {
		r.Args = json.RawMessage(copyCanonical(t, r.Args))
		r.Value = value
		rows = append(rows, r)
	}
	if info.Codec == codec.JSON {
		for _, r := range copyRowsOf[json.RawMessage](t, a, name) {
			add(sqltable.Row[string]{Key: r.Key, Args: r.Args, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt},
				copyCanonical(t, r.Value))
		}
		return rows
	}
	for _, r := range copyRowsOf[copyPoint](t, a, name) {
		add(sqltable.Row[string]{Key: r.Key, Args: r.Args, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt},
			fmt.Sprint(r.Value))
	}
	return rows
}

func copyRowsOf[V any](t *testing.T, a *sqlarchive.Archive, name string) []sqltable.Row[V] {
	t.Helper()
	tbl, err := sqlarchive.Table[V](t.Context(), a, name, nil)
	if err != nil {
		t.Fatalf("Table(%q): %v", name, err)
	}
	defer tbl.Close()
	var rows []sqltable.Row[V]
	for r, err := range tbl.Rows(t.Context()) {
		if err != nil {
			t.Fatalf("Rows(%q): %v", name, err)
		}
		rows = append(rows, r)
	}
	return rows
}

// copyCanonical returns the JSON document doc with its objects' members
// sorted and no spaces, as encoding/json writes it, so that JSON that a
// database normalized compares equal.
func copyCanonical(t *testing.T, doc []byte) string {
	t.Helper()
	if len(doc) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

type copyPoint struct {
	X, Y int
	Tag  string
}

// Copy creates the archive in the destination as the source describes it,
// and copies the entries with their arguments and timestamps, from SQLite
// to every database.
func TestCopy(t *testing.T) {
	ctx := t.Context()
	src := copyOpen(t, sqltest.SQLite(t), dialect.SQLite)
	hash, err := keymap.NewHash(keymap.SHA256, &keymap.Options{Typed: true})
	if err != nil {
		t.Fatal(err)
	}
	fib, err := sqlarchive.Table[int](ctx, src, "fib@v2", &sqlarchive.TableOptions{Keymap: hash, TTL: new(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for n := range 1200 {
		key, err := hash.Key(struct{ N int }{n})
		if err != nil {
			t.Fatal(err)
		}
		if err := fib.PutArgs(ctx, key, struct{ N int }{n}, n*n); err != nil {
			t.Fatal(err)
		}
	}
	points, err := sqlarchive.Table[copyPoint](ctx, src, "points", &sqlarchive.TableOptions{Codec: new(codec.Gob)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := points.Put(ctx, keymap.NewKey(fmt.Sprintf("(%d)", i)), copyPoint{i, -i, "p"}); err != nil {
			t.Fatal(err)
		}
	}
	docs, err := sqlarchive.Table[map[string]any](ctx, src, "docs", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := docs.Put(ctx, keymap.NewKey("\xffbinary key"), map[string]any{"zz": 1, "a": []any{"x", nil}}); err != nil {
		t.Fatal(err)
	}

	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		dst := copyOpen(t, db, d)
		for _, name := range []string{"fib@v2", "points", "docs"} {
			want, err := src.Info(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // a second copy, as after an interruption, changes nothing
				res, err := sqlarchive.Copy(ctx, dst, src, name, nil)
				if n := res.Entries; err != nil || n != len(copyRows(t, src, name)) {
					t.Fatalf("Copy(%q) = %d, %v", name, n, err)
				}
			}
			got, err := dst.Info(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			got.CreatedAt, got.UpdatedAt = want.CreatedAt, want.UpdatedAt
			if !reflect.DeepEqual(got, want) {
				t.Errorf("copied catalog row = %+v,\nwant %+v", got, want)
			}
			srcRows, dstRows := copyRows(t, src, name), copyRows(t, dst, name)
			if len(srcRows) != len(dstRows) {
				t.Fatalf("%s: %d rows copied, want %d", name, len(dstRows), len(srcRows))
			}
			for i, s := range srcRows {
				if g := dstRows[i]; g.Key != s.Key || g.Value != s.Value || string(g.Args) != string(s.Args) ||
					!g.CreatedAt.Equal(s.CreatedAt) || !g.UpdatedAt.Equal(s.UpdatedAt) || !g.ExpiresAt.Equal(s.ExpiresAt) {
					t.Fatalf("%s: row %d = %+v, want %+v", name, i, g, s)
				}
			}
		}
		// The copied gob values decode.
		pts, err := sqlarchive.Table[copyPoint](ctx, dst, "points", nil)
		if err != nil {
			t.Fatal(err)
		}
		if p, found, err := pts.Get(ctx, keymap.NewKey("(2)")); err != nil || !found || p != (copyPoint{2, -2, "p"}) {
			t.Fatalf("Get of a copied gob value = %v, %v, %v", p, found, err)
		}
	})
}

// Copy refuses an archive that the destination describes otherwise, and
// one that the source does not have.
func TestCopyRefused(t *testing.T) {
	ctx := t.Context()
	src := copyOpen(t, sqltest.SQLite(t), dialect.SQLite)
	dst := copyOpen(t, sqltest.SQLite(t), dialect.SQLite)
	for a, ttl := range map[*sqlarchive.Archive]time.Duration{src: time.Hour, dst: time.Minute} {
		if _, err := sqlarchive.Table[int](ctx, a, "ttl", &sqlarchive.TableOptions{TTL: &ttl}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := sqlarchive.Table[int](ctx, src, "ttl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, keymap.NewKey("k"), 1); err != nil {
		t.Fatal(err)
	}
	_, err = sqlarchive.Copy(ctx, dst, src, "ttl", nil)
	if me, ok := errors.AsType[*sqlarchive.MismatchError](err); !ok || me.Field != "ttl" {
		t.Fatalf("Copy onto an archive of another TTL: %v, want a *MismatchError on ttl", err)
	}
	if rows := copyRows(t, dst, "ttl"); len(rows) != 0 {
		t.Fatalf("a refused copy copied %d rows", len(rows))
	}
	if _, err := sqlarchive.Copy(ctx, dst, src, "missing", nil); !errors.Is(err, sqlarchive.ErrNotFound) {
		t.Fatalf("Copy of a missing archive: %v, want ErrNotFound", err)
	}
	if _, err := sqlarchive.Copy(ctx, nil, src, "ttl", nil); err == nil {
		t.Fatal("Copy to a nil Archive: no error")
	}
}

// An archive copied to another database, here a second SQLite file: in
// production, from SQLite to PostgreSQL, say.
func ExampleCopy() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "copy")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	open := func(file string) *sqlarchive.Archive {
		db, err := sql.Open("sqlite3", dialect.SQLiteDSN(filepath.Join(dir, file)))
		if err != nil {
			log.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		a, err := sqlarchive.Open(ctx, db, nil)
		if err != nil {
			log.Fatal(err)
		}
		return a
	}
	src, dst := open("app.db"), open("backup.db")
	defer src.Close()
	defer dst.Close()

	fib, err := sqlarchive.Table[int](ctx, src, "fib", &sqlarchive.TableOptions{TTL: new(time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	if err := fib.Put(ctx, keymap.NewKey("(n=10)"), 55); err != nil {
		log.Fatal(err)
	}

	res, err := sqlarchive.Copy(ctx, dst, src, "fib", nil)
	if err != nil {
		log.Fatal(err)
	}
	info, err := dst.Info(ctx, "fib")
	if err != nil {
		log.Fatal(err)
	}
	copied, err := sqlarchive.Table[int](ctx, dst, "fib", nil)
	if err != nil {
		log.Fatal(err)
	}
	v, found, err := copied.Get(ctx, keymap.NewKey("(n=10)"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Entries, "copied;", info.Codec, info.Keymap, info.TTL)
	fmt.Println(v, found)
	// Output:
	// 1 copied; json string 1h0m0s
	// 55 true
}

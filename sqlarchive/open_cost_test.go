package sqlarchive_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// eachCounted runs fn once per dialect on a fresh database whose pool
// counts its statements.
func eachCounted(t *testing.T, fn func(t *testing.T, db *countedDB, d *dialect.Dialect)) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			db, count := sqltest.Counted(t, d)
			fn(t, &countedDB{DB: db, count: count}, d)
		})
	}
}

// countedDB is a pool that counts its statements.
type countedDB struct {
	DB    *sql.DB
	count *sqltest.Counter
}

// TestOpenChecksOnce: once the schema is up to date, Open sends one
// statement, whatever the number of Archives opened before on the pool,
// and Table of an existing archive takes no lock.
func TestOpenChecksOnce(t *testing.T) {
	eachCounted(t, func(t *testing.T, db *countedDB, d *dialect.Dialect) {
		ctx := t.Context()
		open := func() *sqlarchive.Archive {
			t.Helper()
			a, err := sqlarchive.Open(ctx, db.DB, &sqlarchive.Options{Dialect: d})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			return a
		}
		a := open() // migrates
		if _, err := sqlarchive.Table[int](ctx, a, "fib", nil); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			db.count.Reset()
			a := open()
			if n := db.count.N(); n != 1 {
				t.Errorf("Open sent %d statements, want 1: %q", n, db.count.Statements())
			}
			db.count.Reset()
			if _, err := sqlarchive.Table[int](ctx, a, "fib", nil); err != nil {
				t.Fatal(err)
			}
			for _, s := range db.count.Statements() {
				if s == "begin" || strings.Contains(s, "pg_advisory") || strings.Contains(s, "GET_LOCK") {
					t.Errorf("Table of an existing archive sent %q", s)
				}
			}
		}
	})
}

// TestOpenAfterDown: an Archive opened on a pool does not make later
// Opens on it trust the schema: after another process reverts the latest
// migration, Open with SkipMigrate refuses the database as it would have
// at first, and Open applies the migration again.
func TestOpenAfterDown(t *testing.T) {
	eachCounted(t, func(t *testing.T, db *countedDB, d *dialect.Dialect) {
		ctx := t.Context()
		for range 2 {
			a, err := sqlarchive.Open(ctx, db.DB, &sqlarchive.Options{Dialect: d})
			if err != nil {
				t.Fatal(err)
			}
			a.Close()
		}
		if err := migrations.Down(ctx, db.DB, 1, &migrations.Options{Dialect: d}); err != nil {
			t.Fatal(err)
		}
		_, err := sqlarchive.Open(ctx, db.DB, &sqlarchive.Options{Dialect: d, SkipMigrate: true})
		if !errors.Is(err, sqlarchive.ErrNoFeed) {
			t.Fatalf("Open with SkipMigrate after Down = %v, want ErrNoFeed", err)
		}
		a, err := sqlarchive.Open(ctx, db.DB, &sqlarchive.Options{Dialect: d})
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		m, err := sqlarchive.Memoize(ctx, mustOpen(t, db.DB, d), "twice", func(_ context.Context, n int) (int, error) { return 2 * n, nil }, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := m.Call(ctx, 21); err != nil || got != 42 {
			t.Fatalf("Call = %d, %v; want 42", got, err)
		}
		// A record that claims the latest version over older tables is
		// found out, pool or no pool.
		if err := migrations.Down(ctx, db.DB, 1, &migrations.Options{Dialect: d}); err != nil {
			t.Fatal(err)
		}
		list, err := migrations.List(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := migrations.Force(ctx, db.DB, list[len(list)-1].Version, &migrations.Options{Dialect: d}); err != nil {
			t.Fatal(err)
		}
		_, err = sqlarchive.Open(ctx, db.DB, &sqlarchive.Options{Dialect: d})
		if _, ok := errors.AsType[*migrations.SchemaError](err); !ok {
			t.Fatalf("Open over a record ahead of the tables = %v, want a *migrations.SchemaError", err)
		}
	})
}

// TestTableDroppedBehind: a table of an archive that another process
// dropped, through the Archive or behind the catalog, is made anew when
// the archive is opened again, empty.
func TestTableDroppedBehind(t *testing.T) {
	eachCounted(t, func(t *testing.T, db *countedDB, d *dialect.Dialect) {
		ctx := t.Context()
		a := mustOpen(t, db.DB, d)
		for _, how := range []string{"drop", "sql"} {
			tbl, err := sqlarchive.Table[int](ctx, a, "fib", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := tbl.Put(ctx, keymap.NewKey("k"), 1); err != nil {
				t.Fatal(err)
			}
			other := mustOpen(t, db.DB, d)
			switch how {
			case "drop":
				err = other.Drop(ctx, "fib")
			case "sql":
				_, err = db.DB.ExecContext(ctx, `DROP TABLE `+d.QuoteIdent("fib"))
			}
			if err != nil {
				t.Fatal(err)
			}
			again, err := sqlarchive.Table[int](ctx, mustOpen(t, db.DB, d), "fib", nil)
			if err != nil {
				t.Fatalf("%s: open again: %v", how, err)
			}
			if _, ok, err := again.Get(ctx, keymap.NewKey("k")); err != nil || ok {
				t.Errorf("%s: Get = %v, %v; want a miss", how, ok, err)
			}
			names, err := a.Tables(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(names, func(i sqlarchive.TableInfo) bool { return i.Name == "fib" }) {
				t.Errorf("%s: the catalog lacks fib: %v", how, names)
			}
		}
	})
}

// mustOpen opens an Archive on db, closed when the test ends.
func mustOpen(t *testing.T, db *sql.DB, d *dialect.Dialect) *sqlarchive.Archive {
	t.Helper()
	a, err := sqlarchive.Open(t.Context(), db, &sqlarchive.Options{Dialect: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestMemoizeTypesOnce: Memoize records the function's types once; a
// later Memoize of the same function, in another Archive, reads them with
// the catalog row and writes nothing, and one of another result type is
// still refused.
func TestMemoizeTypesOnce(t *testing.T) {
	eachCounted(t, func(t *testing.T, db *countedDB, d *dialect.Dialect) {
		ctx := t.Context()
		double := func(_ context.Context, n int) (int, error) { return 2 * n, nil }
		if _, err := sqlarchive.Memoize(ctx, mustOpen(t, db.DB, d), "double", double, nil); err != nil {
			t.Fatal(err)
		}
		a := mustOpen(t, db.DB, d)
		db.count.Reset()
		m, err := sqlarchive.Memoize(ctx, a, "double", double, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range db.count.Statements() {
			if strings.HasPrefix(s, "UPDATE") {
				t.Errorf("the second Memoize sent %q", s)
			}
		}
		if got, err := m.Call(ctx, 4); err != nil || got != 8 {
			t.Fatalf("Call = %d, %v; want 8", got, err)
		}
		_, err = sqlarchive.Memoize(ctx, a, "double", func(_ context.Context, n int) (string, error) { return "", nil }, nil)
		if !errors.Is(err, sqlarchive.ErrTypeChanged) {
			t.Errorf("Memoize of another result type = %v, want ErrTypeChanged", err)
		}
	})
}

package sqlarchive_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// applyGenerated runs the first n up files that migrations.Generate
// writes, as another migration tool would, without klepto's version
// record.
func applyGenerated(t *testing.T, db *sql.DB, d *dialect.Dialect, n int) {
	t.Helper()
	paths, err := migrations.Generate(d, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ups []string
	for _, p := range paths {
		if strings.HasSuffix(p, ".up.sql") {
			ups = append(ups, p)
		}
	}
	sort.Strings(ups)
	for _, p := range ups[:n] {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(t.Context(), string(body)); err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
	}
}

// TestOpenSchemaOfOtherTools: klepto's migrations applied by another tool
// leave klepto_schema_migrations empty. Open finds the tables of the latest
// migration and uses them as they are; it refuses the tables of an older
// one, saying what it found, and leaves the version record clean.
func TestOpenSchemaOfOtherTools(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		applyGenerated(t, db, d, 2)
		_, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: d})
		if se, ok := errors.AsType[*migrations.SchemaError](err); !ok || se.Found.Version != 2 || se.Recorded != 0 {
			t.Fatalf("Open over the tables of version 2 = %v, want a *migrations.SchemaError", err)
		}
		if !strings.Contains(err.Error(), "klepto's tables match version 2") {
			t.Errorf("error %q does not say what it found", err)
		}
		if v, dirty, err := migrations.Version(ctx, db, nil); v != 0 || dirty || err != nil {
			t.Errorf("Version = %d, %v, %v after the refused Open; want 0, clean", v, dirty, err)
		}

		db = sqltest.Open(t, d)
		applyGenerated(t, db, d, len(mustList(t, d)))
		a := open(t, db, d, nil)
		fib := table[int](t, a, "fib", nil)
		put(t, fib, "(1)", 1)
		if v, dirty, err := migrations.Version(ctx, db, nil); v != 0 || dirty || err != nil {
			t.Errorf("Version = %d, %v, %v after Open; want 0, clean: the other tool keeps the schema", v, dirty, err)
		}
		st, err := migrations.Status(ctx, db, nil)
		if err != nil || st.Found.Version != st.Latest() || st.Agrees() {
			t.Errorf("Status = %+v, %v; want the tables of the latest version, unrecorded", st, err)
		}
	})
}

func mustList(t *testing.T, d *dialect.Dialect) []migrations.Migration {
	t.Helper()
	list, err := migrations.List(d)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestOpenDirty: on a version record left dirty (by golang-migrate's own
// drivers, or an earlier release), Open says what to run on PostgreSQL and
// SQLite, and heals on MySQL.
func TestOpenDirty(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		if err := migrations.Up(ctx, db, nil); err != nil {
			t.Fatal(err)
		}
		// Down migrations from 7 that failed, their changes rolled back.
		for _, s := range []string{`DELETE FROM klepto_schema_migrations`, `INSERT INTO klepto_schema_migrations (version, dirty) VALUES (3, true)`} {
			if _, err := db.ExecContext(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: d})
		if d == dialect.MySQL {
			if err != nil {
				t.Fatalf("Open on MySQL, dirty: %v", err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			return
		}
		want := `sqlarchive: open: migrations: database is dirty at version 3 (a migration failed part way); ` +
			`klepto's tables match version 7: check them, then run "klepto-sql migrate force 7"`
		if _, ok := errors.AsType[*migrations.DirtyError](err); !ok || err.Error() != want {
			t.Fatalf("Open on a dirty database = %v,\nwant %s", err, want)
		}
		if err := migrations.Force(ctx, db, 7, nil); err != nil {
			t.Fatal(err)
		}
		open(t, db, d, nil)
	})
}

// TestAdoptAfterDown: migrations.Down drops the catalog and leaves the
// archive tables with their rows; after Up, Table refuses them, Adopt lists
// one again with its entries, and DropOrphan drops another.
func TestAdoptAfterDown(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: d})
		if err != nil {
			t.Fatal(err)
		}
		fib, err := sqlarchive.Table[int](ctx, a, "fib", nil)
		if err != nil {
			t.Fatal(err)
		}
		put(t, fib, "(10)", 55)
		raw := new(codec.Raw)
		thumbs, err := sqlarchive.Table[[]byte](ctx, a, "thumbs", &sqlarchive.TableOptions{Codec: raw})
		if err != nil {
			t.Fatal(err)
		}
		put(t, thumbs, "a", []byte("png"))
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if err := migrations.Down(ctx, db, 99, nil); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"fib", "thumbs"} {
			if ok, err := d.TableExists(ctx, db, name); !ok || err != nil {
				t.Fatalf("TableExists(%s) = %v, %v after Down; want the table left behind", name, ok, err)
			}
		}

		a = open(t, db, d, nil)
		if _, err := sqlarchive.Table[int](ctx, a, "fib", nil); err == nil || !strings.Contains(err.Error(), "klepto-sql create -adopt") {
			t.Fatalf("Table(fib) over the table left behind = %v, want an error naming the way out", err)
		}
		// The layout must suit the codec: a JSON table is not adopted as raw.
		if _, err := sqlarchive.Adopt(ctx, a, "fib", &sqlarchive.TableOptions{Codec: raw}); err == nil {
			t.Fatal("Adopt(fib) with the raw codec succeeded")
		}
		if _, err := a.Info(ctx, "fib"); !errors.Is(err, sqlarchive.ErrNotFound) {
			t.Fatalf("Info(fib) after the refused Adopt = %v, want ErrNotFound", err)
		}
		info, err := sqlarchive.Adopt(ctx, a, "fib", nil)
		if err != nil || info.Table != "fib" || info.Codec != codec.JSON {
			t.Fatalf("Adopt(fib) = %+v, %v", info, err)
		}
		fib = table[int](t, a, "fib", nil)
		if v, ok := get(t, fib, "(10)"); !ok || v != 55 {
			t.Errorf("Get((10)) in the adopted archive = %v, %v; want 55", v, ok)
		}
		if _, err := sqlarchive.Adopt(ctx, a, "fib", nil); !errors.Is(err, sqlarchive.ErrNotOrphan) {
			t.Errorf("Adopt(fib) again = %v, want ErrNotOrphan", err)
		}
		if _, err := sqlarchive.Adopt(ctx, a, "none", nil); !errors.Is(err, sqlarchive.ErrNotOrphan) {
			t.Errorf("Adopt(none) = %v, want ErrNotOrphan", err)
		}

		if err := a.DropOrphan(ctx, "fib"); !errors.Is(err, sqlarchive.ErrNotOrphan) {
			t.Errorf("DropOrphan(fib), which the catalog lists = %v, want ErrNotOrphan", err)
		}
		// Another table of the application is never dropped.
		if _, err := db.ExecContext(ctx, `CREATE TABLE users (id INTEGER)`); err != nil {
			t.Fatal(err)
		}
		if err := a.DropOrphan(ctx, "users"); !errors.Is(err, sqltable.ErrLayout) {
			t.Errorf("DropOrphan(users) = %v, want sqltable.ErrLayout", err)
		}
		if err := a.DropOrphan(ctx, "thumbs"); err != nil {
			t.Fatalf("DropOrphan(thumbs): %v", err)
		}
		for name, want := range map[string]bool{"thumbs": false, "users": true, "fib": true} {
			if ok, err := d.TableExists(ctx, db, name); ok != want || err != nil {
				t.Errorf("TableExists(%s) = %v, %v; want %v", name, ok, err, want)
			}
		}
	})
}

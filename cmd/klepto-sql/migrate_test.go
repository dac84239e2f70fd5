package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
)

// TestMigrateDownAdopt: migrate down leaves the archive tables; create
// then names the way out, create -adopt lists a table again with its
// entries, and drop -orphan drops another.
func TestMigrateDownAdopt(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ok(t, "create", "fib", "-db", dsn)
		ok(t, "put", "fib", "k", "1", "-raw", "-db", dsn)
		ok(t, "create", "junk", "-codec", "raw", "-db", dsn)
		ok(t, "migrate", "down", "-yes", "-db", dsn)
		ok(t, "migrate", "up", "-db", dsn)
		fails(t, exitFailure, []string{"which the catalog does not list", "klepto-sql create -adopt", "klepto-sql drop -orphan"},
			"create", "fib", "-db", dsn)
		ok(t, "create", "-adopt", "fib", "-db", dsn)
		if got := ok(t, "get", "fib", "k", "-db", dsn); got != "1\n" {
			t.Errorf("get fib k after adopt = %q, want 1", got)
		}
		fails(t, exitFailure, []string{"not a table outside the catalog", `lists the table "fib"`}, "drop", "-orphan", "-yes", "fib", "-db", dsn)
		fails(t, exitUsage, []string{"without -yes; nothing changed"}, "drop", "-orphan", "junk", "-db", dsn)
		ok(t, "drop", "-orphan", "-yes", "junk", "-db", dsn)
		fails(t, exitFailure, []string{`the database has no table "junk"`}, "drop", "-orphan", "-yes", "junk", "-db", dsn)
		if got := ok(t, "ls", "-db", dsn); !strings.Contains(got, "fib") || strings.Contains(got, "junk") {
			t.Errorf("ls = %q, want fib alone", got)
		}
	})
}

// TestMigrateOtherTools: klepto's migrations applied by another tool.
// status says what the tables match, and create uses them, with or
// without -skip-migrate, recording nothing.
func TestMigrateOtherTools(t *testing.T) {
	for i, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, d)
			dsn := dsnOf(t, db, i%2 == 0)
			files := decode[struct{ Files []string }](t, ok(t, "migrate", "generate", "-dialect", d.Name(), "-dir", t.TempDir(), "-json"))
			sort.Strings(files.Files)
			for _, f := range files.Files {
				if !strings.HasSuffix(f, ".up.sql") {
					continue
				}
				body, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.DB.ExecContext(t.Context(), string(body)); err != nil {
					t.Fatalf("%s: %v", filepath.Base(f), err)
				}
			}
			list, err := migrations.List(d)
			if err != nil {
				t.Fatal(err)
			}
			latest := itoa(list[len(list)-1].Version)
			text := ok(t, "migrate", "status", "-db", dsn)
			for _, want := range []string{
				"version 0 of " + latest + " recorded in klepto_schema_migrations\n",
				"klepto's tables match version " + latest + ": another tool applied the migrations",
				"present, not recorded",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("status lacks %q:\n%s", want, text)
				}
			}
			ok(t, "create", "fib", "-db", dsn)
			ok(t, "create", "-skip-migrate", "fib2", "-db", dsn)
			if got := ok(t, "migrate", "version", "-db", dsn); got != "0\n" {
				t.Errorf("version = %q, want 0: the other tool keeps the schema", got)
			}
		})
	}
}

// TestCreateSkipMigrate: with -skip-migrate, create, import and copy (to
// its -to database) apply nothing, and fail on a database without
// klepto's tables.
func TestCreateSkipMigrate(t *testing.T) {
	src := "sqlite:" + filepath.Join(t.TempDir(), "src.db")
	ok(t, "create", "fib", "-db", src)
	eachDB(t, func(t *testing.T, dsn string) {
		fails(t, exitFailure, []string{"klepto_archives does not exist"}, "create", "-skip-migrate", "fib", "-db", dsn)
		failsIn(t, "", exitFailure, []string{"klepto_archives does not exist"}, "import", "-skip-migrate", "fib", "-db", dsn)
		fails(t, exitFailure, []string{"klepto_archives does not exist"}, "copy", "-skip-migrate", "-db", src, "-to", dsn, "fib")
		if got := ok(t, "migrate", "version", "-db", dsn); got != "0\n" {
			t.Errorf("version after create -skip-migrate = %q, want 0", got)
		}
	})
}

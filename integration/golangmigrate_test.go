package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// migrateBinEnv names the golang-migrate command that the tests run, built
// with the postgres, mysql and sqlite3 tags, as CI installs it:
//
//	GOBIN=... go install -tags 'postgres mysql sqlite3' github.com/golang-migrate/migrate/v4/cmd/migrate@v4.20.1
const migrateBinEnv = "KLEPTO_TEST_MIGRATE_BIN"

// migrateModule is the golang-migrate command that golangMigrate builds
// when migrateBinEnv is not set.
const migrateModule = "github.com/golang-migrate/migrate/v4/cmd/migrate@v4.20.1"

var golangMigrateBin struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// golangMigrate returns the path of golang-migrate's command: that of
// KLEPTO_TEST_MIGRATE_BIN, or one built with go install (from the module
// proxy) into a folder of os.TempDir kept for later runs. If it cannot be
// had, the test skips, or fails under KLEPTO_TEST_REQUIRE_DBS=1.
func golangMigrate(t *testing.T) string {
	t.Helper()
	golangMigrateBin.once.Do(func() {
		if p := os.Getenv(migrateBinEnv); p != "" {
			golangMigrateBin.path = p
			_, golangMigrateBin.err = os.Stat(p)
			return
		}
		dir := filepath.Join(os.TempDir(), "klepto-test-golang-migrate-v4.20.1")
		golangMigrateBin.path = filepath.Join(dir, "migrate")
		if _, err := os.Stat(golangMigrateBin.path); err == nil {
			return
		}
		gotool, err := exec.LookPath("go")
		if err != nil {
			golangMigrateBin.err = err
			return
		}
		cmd := exec.Command(gotool, "install", "-tags", "postgres mysql sqlite3", migrateModule)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=1")
		cmd.Dir = os.TempDir()
		golangMigrateBin.out, golangMigrateBin.err = cmd.CombinedOutput()
	})
	if err := golangMigrateBin.err; err != nil {
		msg := fmt.Sprintf("no golang-migrate command (set %s, or let go install %s): %v\n%s",
			migrateBinEnv, migrateModule, err, golangMigrateBin.out)
		if v := os.Getenv(sqltest.RequireEnv); v != "" && v != "0" {
			t.Fatalf("%s=%s but %s", sqltest.RequireEnv, v, msg)
		}
		t.Skip(msg)
	}
	return golangMigrateBin.path
}

// migrateURL returns golang-migrate's -database URL for db.
func migrateURL(db sqltest.Database) string {
	switch db.Dialect {
	case dialect.SQLite:
		return "sqlite3://" + db.Name
	case dialect.MySQL:
		return "mysql://" + db.DSN
	}
	return db.DSN
}

// TestGolangMigrateCLI: an application keeps its migrations in a folder
// numbered from 0001 and applies them with golang-migrate's own command.
// klepto-sql migrate generate writes klepto's files beside them, numbered
// after them; golang-migrate applies them all; the archive then works,
// through the library and the command, with no migration of klepto's own
// and nothing dirty, and migrate status says what it found.
func TestGolangMigrateCLI(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, d)
			bin := golangMigrate(t)
			ctx := t.Context()

			dir := t.TempDir()
			for name, body := range map[string]string{
				"0001_app_users.up.sql":   "CREATE TABLE app_users (id INTEGER NOT NULL PRIMARY KEY);\n",
				"0001_app_users.down.sql": "DROP TABLE app_users;\n",
			} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// Numbered from 0001, klepto's files would collide.
			if out, err := runCLIErr(t, db, "migrate", "generate", "-dialect", d.Name(), "-dir", dir, "-start", "1"); err == nil ||
				!strings.Contains(out, "version 1 is taken by") {
				t.Fatalf("migrate generate -start 1 beside the app's 0001: %v\n%s", err, out)
			}
			out, _ := runCLI(t, db, "migrate", "generate", "-dialect", d.Name(), "-dir", dir)
			if !strings.Contains(out, "0002_klepto_archives.up.sql") {
				t.Fatalf("migrate generate wrote:\n%s", out)
			}

			cmd := exec.CommandContext(ctx, bin, "-path", dir, "-database", migrateURL(db), "up")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("golang-migrate up: %v\n%s", err, out)
			}
			list, err := migrations.List(d)
			if err != nil {
				t.Fatal(err)
			}
			latest := list[len(list)-1].Version
			// Generate numbers klepto's files 0002, 0003, … after the app's.
			last := 1 + len(list)
			cmd = exec.CommandContext(ctx, bin, "-path", dir, "-database", migrateURL(db), "version")
			if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != fmt.Sprint(last) {
				t.Fatalf("golang-migrate version = %q, %v; want %d", out, err, last)
			}

			// The library: Open, with the defaults, uses the tables.
			a, err := sqlarchive.Open(ctx, db.DB, nil)
			if err != nil {
				t.Fatalf("sqlarchive.Open after golang-migrate up: %v", err)
			}
			fib, err := sqlarchive.Table[int](ctx, a, "fib", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := fib.Put(ctx, keymap.NewKey("(10)"), 55); err != nil {
				t.Fatal(err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}

			// The command: create, put and get, and a truthful status.
			runCLI(t, db, "create", "thumbs", "-codec", "raw")
			runCLI(t, db, "put", "thumbs", "(a)", "png")
			if out, _ := runCLI(t, db, "get", "fib", "(10)"); out != "55\n" {
				t.Errorf("klepto-sql get fib (10) = %q, want 55", out)
			}
			status, _ := runCLI(t, db, "migrate", "status")
			if want := fmt.Sprintf("klepto's tables match version %d: another tool applied the migrations", latest); !strings.Contains(status, want) {
				t.Errorf("migrate status lacks %q:\n%s", want, status)
			}
			v, dirty, err := migrations.Version(context.WithoutCancel(ctx), db.DB, nil)
			if err != nil || v != 0 || dirty {
				t.Errorf("klepto's version = %d, %v, %v; want 0, clean: golang-migrate keeps the schema", v, dirty, err)
			}
		})
	}
}

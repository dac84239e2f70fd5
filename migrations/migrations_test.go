package migrations_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/gofrs/flock"
	"github.com/golang-migrate/migrate/v4/database"
	"github.com/mattn/go-sqlite3"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
)

var all = []*dialect.Dialect{dialect.SQLite, dialect.MySQL, dialect.Postgres}

var want = []migrations.Migration{
	{Version: 1, Name: "klepto_archives"},
	{Version: 2, Name: "klepto_changes"},
	{Version: 3, Name: "klepto_changes_keys"},
	{Version: 4, Name: "klepto_leases"},
	{Version: 6, Name: "klepto_archives_stats"},
	{Version: 7, Name: "klepto_archives_types"},
}

// latest is the version of the last migration.
var latest = want[len(want)-1].Version

// stepsDown returns how many migrations Down reverts from latest to v.
func stepsDown(v uint) int {
	n := 0
	for _, m := range want {
		if m.Version > v {
			n++
		}
	}
	return n
}

func TestList(t *testing.T) {
	for _, d := range all {
		list, err := migrations.List(d)
		if err != nil || !slices.Equal(list, want) {
			t.Errorf("List(%v) = %v, %v; want %v", d, list, err, want)
		}
	}
	if _, err := migrations.List(nil); err == nil {
		t.Errorf("List(nil) succeeded, want an error")
	}
}

// TestOneStatementPerMySQLFile: MySQL commits each DDL statement, so a file
// of two statements could fail after the first took effect; and the
// migration connection does not allow multiple statements.
func TestOneStatementPerMySQLFile(t *testing.T) {
	dir := t.TempDir()
	paths, err := migrations.Generate(dialect.MySQL, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.TrimSpace(string(body))
		if n := strings.Count(s, ";"); n != 1 || !strings.HasSuffix(s, ";") {
			t.Errorf("%s has %d semicolons, want one statement ending in one", filepath.Base(p), n)
		}
	}
}

func TestSQL(t *testing.T) {
	for _, d := range all {
		script, err := migrations.SQL(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"CREATE TABLE klepto_archives", "CREATE TABLE klepto_changes", "-- 0001_klepto_archives.up.sql"} {
			if !strings.Contains(script, w) {
				t.Errorf("SQL(%v) lacks %q:\n%s", d, w, script)
			}
		}
		if strings.Contains(script, "DROP TABLE") {
			t.Errorf("SQL(%v) holds a down migration:\n%s", d, script)
		}
	}
	if _, err := migrations.SQL(nil); err == nil {
		t.Errorf("SQL(nil) succeeded, want an error")
	}
}

func TestGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db", "migrations")
	paths, err := migrations.Generate(dialect.Postgres, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		if filepath.Dir(p) != dir {
			t.Errorf("Generate wrote %s outside %s", p, dir)
		}
		names = append(names, filepath.Base(p))
	}
	wantNames := []string{
		"0001_klepto_archives.up.sql", "0001_klepto_archives.down.sql",
		"0002_klepto_changes.up.sql", "0002_klepto_changes.down.sql",
		"0003_klepto_changes_keys.up.sql", "0003_klepto_changes_keys.down.sql",
		"0004_klepto_leases.up.sql", "0004_klepto_leases.down.sql",
		"0005_klepto_archives_stats.up.sql", "0005_klepto_archives_stats.down.sql",
		"0006_klepto_archives_types.up.sql", "0006_klepto_archives_types.down.sql",
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("Generate wrote %q, want %q", names, wantNames)
	}
	script, _ := migrations.SQL(dialect.Postgres)
	up, err := os.ReadFile(filepath.Join(dir, "0002_klepto_changes.up.sql"))
	if err != nil || !strings.Contains(script, strings.TrimSpace(string(up))) {
		t.Errorf("generated 0002 up file (%v) is not the embedded migration:\n%s", err, up)
	}

	// Again into the same folder: identical files are fine.
	if _, err := migrations.Generate(dialect.Postgres, dir, nil); err != nil {
		t.Errorf("second Generate into the same folder: %v", err)
	}
	// A file with other content is never overwritten.
	edited := filepath.Join(dir, "0001_klepto_archives.down.sql")
	if err := os.WriteFile(edited, []byte("-- mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Generate(dialect.Postgres, dir, nil); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Generate over an edited file returned %v, want fs.ErrExist", err)
	}
	if body, _ := os.ReadFile(edited); string(body) != "-- mine\n" {
		t.Errorf("Generate overwrote an edited file")
	}
}

// TestGenerateNumbering: Generate numbers klepto's files after the
// folder's own migrations, or from Start, and never gives them a version
// that another file has.
func TestGenerateNumbering(t *testing.T) {
	own := func(t *testing.T, dir string, names ...string) {
		t.Helper()
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("-- mine\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	first := func(paths []string) string {
		if len(paths) == 0 {
			return ""
		}
		return filepath.Base(paths[0])
	}
	for _, tc := range []struct {
		name  string
		files []string
		start uint64
		first string // the first file written; "" for an error wrapping fs.ErrExist
	}{
		{"empty folder", nil, 0, "0001_klepto_archives.up.sql"},
		{"after the app's 0001", []string{"0001_app.up.sql", "0001_app.down.sql"}, 0, "0002_klepto_archives.up.sql"},
		{"after timestamps", []string{"20240101120000_app.up.sql"}, 0, "20240101120001_klepto_archives.up.sql"},
		{"from Start", []string{"0001_app.up.sql"}, 100, "0100_klepto_archives.up.sql"},
		{"timestamp Start", nil, 20261205103000, "20261205103000_klepto_archives.up.sql"},
		{"Start on the app's version", []string{"0001_app.up.sql"}, 1, ""},
		{"Start below the app's later version", []string{"0001_app.up.sql", "0003_more.up.sql"}, 2, ""},
		{"other files ignored", []string{"README.md", "0001_app.sql"}, 0, "0001_klepto_archives.up.sql"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			own(t, dir, tc.files...)
			paths, err := migrations.Generate(dialect.SQLite, dir, &migrations.GenerateOptions{Start: tc.start})
			if tc.first == "" {
				if !errors.Is(err, fs.ErrExist) || len(paths) != 0 {
					t.Fatalf("Generate = %q, %v; want an error wrapping fs.ErrExist and no file", paths, err)
				}
				if !strings.Contains(err.Error(), "is taken by") {
					t.Errorf("error %q does not name the file in the way", err)
				}
				return
			}
			if err != nil || first(paths) != tc.first || len(paths) != 2*len(want) {
				t.Fatalf("Generate = %q, %v; want %d files from %s", paths, err, 2*len(want), tc.first)
			}
			// Again: the same numbers, nothing rewritten.
			again, err := migrations.Generate(dialect.SQLite, dir, nil)
			if err != nil || !slices.Equal(again, paths) {
				t.Errorf("Generate again = %q, %v; want %q", again, err, paths)
			}
			// Another Start than the files': refused.
			if _, err := migrations.Generate(dialect.SQLite, dir, &migrations.GenerateOptions{Start: 7777}); !errors.Is(err, fs.ErrExist) ||
				!strings.Contains(err.Error(), "numbered from") {
				t.Errorf("Generate with another Start = %v, want an error wrapping fs.ErrExist", err)
			}
		})
	}
}

func TestState(t *testing.T) {
	s := migrations.State{Version: 1, Migrations: want}
	if s.Latest() != latest || !slices.Equal(s.Pending(), want[1:]) {
		t.Errorf("State{Version: 1}: Latest %d, Pending %v", s.Latest(), s.Pending())
	}
	s.Version = 4
	if !slices.Equal(s.Pending(), want[4:]) {
		t.Errorf("State{Version: 4}.Pending() = %v, want %v", s.Pending(), want[4:])
	}
	s.Version = latest
	if s.Pending() != nil {
		t.Errorf("State{Version: %d}.Pending() = %v, want none", latest, s.Pending())
	}
	if (migrations.State{}).Latest() != 0 {
		t.Errorf("zero State has a latest version")
	}
}

func checkVersion(t *testing.T, db *sql.DB, d *dialect.Dialect, wantV uint, wantDirty bool) {
	t.Helper()
	v, dirty, err := migrations.Version(t.Context(), db, &migrations.Options{Dialect: d})
	if err != nil || v != wantV || dirty != wantDirty {
		t.Fatalf("Version = %d, %v, %v; want %d, %v", v, dirty, err, wantV, wantDirty)
	}
}

// checkTables checks which of klepto's tables db holds, and, when they
// are those of a version, that Status finds it so.
func checkTables(t *testing.T, db *sql.DB, d *dialect.Dialect, archives, changes, leases bool) {
	t.Helper()
	if st, err := migrations.Status(t.Context(), db, &migrations.Options{Dialect: d}); err != nil || !st.Agrees() {
		t.Errorf("Status = %+v, %v; want the tables to match the version", st, err)
	}
	for name, want := range map[string]bool{
		migrations.ArchivesTable: archives, migrations.ChangesTable: changes, migrations.LeasesTable: leases,
		migrations.MigrationsTable: true,
	} {
		if got, err := d.TableExists(t.Context(), db, name); got != want || err != nil {
			t.Errorf("TableExists(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
}

// Without a dialect, the functions find it from the driver; a dialect that
// does not match the driver fails before any statement, and nil options
// mean the defaults.
func TestDialectOptions(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		for _, other := range all {
			if other == d {
				continue
			}
			opts := &migrations.Options{Dialect: other}
			calls := map[string]error{
				"Up":    migrations.Up(ctx, db, opts),
				"Down":  migrations.Down(ctx, db, 1, opts),
				"Force": migrations.Force(ctx, db, 1, opts),
			}
			_, _, calls["Version"] = migrations.Version(ctx, db, opts)
			_, calls["Status"] = migrations.Status(ctx, db, opts)
			for name, err := range calls {
				var me *dialect.MismatchError
				if !errors.As(err, &me) || me.Dialect != other || me.Database != d {
					t.Errorf("%s with dialect %v on %v: %v, want a *dialect.MismatchError", name, other, d, err)
				}
			}
		}
		if tables, err := d.Tables(ctx, db); len(tables) != 0 || err != nil {
			t.Fatalf("tables after refused migrations: %q, %v", tables, err)
		}
		if err := migrations.Up(ctx, db, nil); err != nil {
			t.Fatalf("Up with nil options: %v", err)
		}
		checkVersion(t, db, nil, want[len(want)-1].Version, false)
		if st, err := migrations.Status(ctx, db, &migrations.Options{}); err != nil || st.Version != want[len(want)-1].Version {
			t.Fatalf("Status with zero options = %+v, %v", st, err)
		}
	})
	if err := migrations.Up(t.Context(), nil, nil); err == nil {
		t.Error("Up(nil *sql.DB) succeeded, want an error")
	}
}

func TestUpDown(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		st, err := migrations.Status(ctx, db, &migrations.Options{Dialect: d})
		if err != nil || st.Version != 0 || st.Dirty || len(st.Pending()) != len(want) {
			t.Fatalf("Status of a new database = %+v, %v; want version 0 and %d pending", st, err, len(want))
		}

		if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
			t.Fatalf("Up: %v", err)
		}
		checkVersion(t, db, d, latest, false)
		checkTables(t, db, d, true, true, true)
		if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); !errors.Is(err, migrations.ErrNoChange) {
			t.Errorf("second Up returned %v, want ErrNoChange", err)
		}
		checkCatalog(t, db, d)

		if err := migrations.Down(ctx, db, 1, &migrations.Options{Dialect: d}); err != nil {
			t.Fatalf("Down(1): %v", err)
		}
		checkVersion(t, db, d, 6, false)
		checkNoTypeColumns(t, db, d)
		if err := migrations.Down(ctx, db, 1, &migrations.Options{Dialect: d}); err != nil {
			t.Fatalf("Down(1): %v", err)
		}
		checkVersion(t, db, d, 4, false)
		checkTables(t, db, d, true, true, true)
		checkNoStatsColumns(t, db, d)
		if err := migrations.Down(ctx, db, 1, &migrations.Options{Dialect: d}); err != nil {
			t.Fatalf("Down(1): %v", err)
		}
		checkVersion(t, db, d, 3, false)
		checkTables(t, db, d, true, true, false)
		if err := migrations.Down(ctx, db, 2, &migrations.Options{Dialect: d}); err != nil {
			t.Fatalf("Down(2): %v", err)
		}
		checkVersion(t, db, d, 1, false)
		checkTables(t, db, d, true, false, false)
		if err := migrations.Down(ctx, db, 5, &migrations.Options{Dialect: d}); err != nil {
			t.Fatalf("Down(5) from version 1: %v", err)
		}
		checkVersion(t, db, d, 0, false)
		checkTables(t, db, d, false, false, false)
		if err := migrations.Down(ctx, db, 1, &migrations.Options{Dialect: d}); !errors.Is(err, migrations.ErrNoChange) {
			t.Errorf("Down with nothing applied returned %v, want ErrNoChange", err)
		}
		if err := migrations.Down(ctx, db, 0, &migrations.Options{Dialect: d}); err == nil {
			t.Errorf("Down(0) succeeded, want an error")
		}

		if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
			t.Fatalf("Up after Down: %v", err)
		}
		checkVersion(t, db, d, latest, false)
		// The caller's pool is still open and whole.
		if err := db.PingContext(ctx); err != nil {
			t.Errorf("db after migrations: %v", err)
		}
	})
}

// checkNoStatsColumns checks that the catalog lacks the columns of
// migration 6, and checkCatalog that it has them, with their defaults.
func checkNoStatsColumns(t *testing.T, db *sql.DB, d *dialect.Dialect) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), `SELECT loads FROM klepto_archives`); err == nil {
		t.Error("klepto_archives has a loads column at version 4")
	}
}

// checkNoTypeColumns checks that the catalog lacks the columns of
// migration 7, and checkCatalog that it has them, NULL.
func checkNoTypeColumns(t *testing.T, db *sql.DB, d *dialect.Dialect) {
	t.Helper()
	for _, c := range []string{"result_type", "args_type"} {
		if _, err := db.ExecContext(t.Context(), `SELECT `+c+` FROM klepto_archives`); err == nil {
			t.Errorf("klepto_archives has a %s column at version 6", c)
		}
	}
}

// checkCatalog writes a row into each table with the columns' defaults.
func checkCatalog(t *testing.T, db *sql.DB, d *dialect.Dialect) {
	t.Helper()
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, d.Rebind(`INSERT INTO klepto_archives (name, table_name, keymap) VALUES (?, ?, ?)`), "fib", "fib", "string"); err != nil {
		t.Fatal(err)
	}
	var codec string
	var created time.Time
	var ttl, layout int64
	err := db.QueryRowContext(ctx, `SELECT codec, ttl_ns, layout_version, created_at FROM klepto_archives`).Scan(&codec, &ttl, &layout, d.ScanTime(&created))
	if err != nil {
		t.Fatal(err)
	}
	if since := time.Since(created); codec != "json" || ttl != 0 || layout != 1 || since < -time.Hour || since > time.Hour {
		t.Errorf("catalog defaults: codec %q, ttl_ns %d, layout_version %d, created_at %v; want json, 0, 1, now", codec, ttl, layout, created)
	}
	var hits, misses, loads int64
	var statsAt any
	err = db.QueryRowContext(ctx, `SELECT hits, misses, loads, stats_at FROM klepto_archives`).Scan(&hits, &misses, &loads, &statsAt)
	if err != nil || hits != 0 || misses != 0 || loads != 0 || statsAt != nil {
		t.Errorf("catalog statistics: hits %d, misses %d, loads %d, stats_at %v (%v); want 0, 0, 0, NULL", hits, misses, loads, statsAt, err)
	}
	var resultType, argsType any
	err = db.QueryRowContext(ctx, `SELECT result_type, args_type FROM klepto_archives`).Scan(&resultType, &argsType)
	if err != nil || resultType != nil || argsType != nil {
		t.Errorf("catalog types: result_type %v, args_type %v (%v); want NULL, NULL", resultType, argsType, err)
	}
	for range 2 {
		if _, err := db.ExecContext(ctx, d.Rebind(`INSERT INTO klepto_changes (table_name, op, key_text) VALUES (?, ?, ?)`), "fib", "clear", nil); err != nil {
			t.Fatal(err)
		}
	}
	var first, last int64
	if err := db.QueryRowContext(ctx, `SELECT min(id), max(id) FROM klepto_changes`).Scan(&first, &last); err != nil || last != first+1 {
		t.Errorf("change ids %d, %d (%v), want consecutive", first, last, err)
	}
}

// TestSchemaMismatch puts a table of klepto's in the way of the
// migrations: Up refuses before any statement, saying what it found.
func TestSchemaMismatch(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		if _, err := db.ExecContext(ctx, `CREATE TABLE klepto_changes (x INTEGER)`); err != nil {
			t.Fatal(err)
		}
		err := migrations.Up(ctx, db, &migrations.Options{Dialect: d})
		se, ok := errors.AsType[*migrations.SchemaError](err)
		if !ok || se.Recorded != 0 || !se.Found.Mixed {
			t.Fatalf("Up over a table in the way returned %v, want a *SchemaError of mixed tables", err)
		}
		if !strings.Contains(err.Error(), "klepto's tables match no single version") {
			t.Errorf("error %q does not say what it found", err)
		}
		checkVersion(t, db, d, 0, false)
		if ok, err := d.TableExists(ctx, db, migrations.ArchivesTable); ok || err != nil {
			t.Errorf("TableExists(%s) = %v, %v after the refused Up; want false", migrations.ArchivesTable, ok, err)
		}

		// Once the tables agree, Up goes on.
		if _, err := db.ExecContext(ctx, `DROP TABLE klepto_changes`); err != nil {
			t.Fatal(err)
		}
		if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
			t.Fatalf("Up: %v", err)
		}
		// Columns dropped by hand: the record says 7, the tables 4.
		execAll(t, db, `ALTER TABLE klepto_archives DROP COLUMN args_type`, `ALTER TABLE klepto_archives DROP COLUMN result_type`,
			`ALTER TABLE klepto_archives DROP COLUMN stats_at`, `ALTER TABLE klepto_archives DROP COLUMN loads`)
		err = migrations.Up(ctx, db, &migrations.Options{Dialect: d})
		if se, ok := errors.AsType[*migrations.SchemaError](err); !ok || se.Recorded != latest || se.Found != (migrations.Found{Version: 4}) {
			t.Fatalf("Up with the stats columns dropped returned %v, want a *SchemaError of version %d and tables of 4", err, latest)
		}
		if want := `run "klepto-sql migrate force 4"`; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %s", err, want)
		}
		if err := migrations.Force(ctx, db, 4, &migrations.Options{Dialect: d}); err != nil {
			t.Fatal(err)
		}
		if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
			t.Fatalf("Up after Force(4): %v", err)
		}
		checkVersion(t, db, d, latest, false)
		checkTables(t, db, d, true, true, true)
		// A table dropped by hand under a later migration's column: the
		// tables match no version.
		execAll(t, db, `DROP TABLE klepto_leases`)
		err = migrations.Up(ctx, db, &migrations.Options{Dialect: d})
		if se, ok := errors.AsType[*migrations.SchemaError](err); !ok || se.Recorded != latest || !se.Found.Mixed {
			t.Fatalf("Up with klepto_leases dropped returned %v, want a *SchemaError of mixed tables", err)
		}
	})
}

// markDirty records version, dirty, as golang-migrate does before a
// migration; a process that fails or dies then leaves it so.
func markDirty(t *testing.T, db *sql.DB, d *dialect.Dialect, version int) {
	t.Helper()
	for _, s := range []string{`DELETE FROM klepto_schema_migrations`, d.Rebind(`INSERT INTO klepto_schema_migrations (version, dirty) VALUES (?, ?)`)} {
		args := []any{version, true}
		if strings.HasPrefix(s, "DELETE") {
			args = nil
		}
		if _, err := db.ExecContext(t.Context(), s, args...); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDirty: a version record left dirty, by golang-migrate's own drivers
// or an earlier release, after down migrations from the latest that did
// not take effect. On PostgreSQL and SQLite, Up and Down refuse, saying what to run;
// Force recovers.
func TestDirty(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		if d == dialect.MySQL {
			t.Skip("MySQL heals: see TestMySQLHeals")
		}
		ctx := t.Context()
		if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
			t.Fatal(err)
		}
		markDirty(t, db, d, 3)
		for name, op := range map[string]func() error{
			"Up":   func() error { return migrations.Up(ctx, db, &migrations.Options{Dialect: d}) },
			"Down": func() error { return migrations.Down(ctx, db, 1, &migrations.Options{Dialect: d}) },
		} {
			err := op()
			dirtyErr, ok := errors.AsType[*migrations.DirtyError](err)
			if !ok || dirtyErr.Version != 3 || dirtyErr.Found != (migrations.Found{Version: latest}) {
				t.Errorf("%s on a dirty database returned %v, want *DirtyError{Version: 3, Found: version %d}", name, err, latest)
				continue
			}
			want := fmt.Sprintf(`migrations: database is dirty at version 3 (a migration failed part way); `+
				`klepto's tables match version %d: check them, then run "klepto-sql migrate force %d"`, latest, latest)
			if err.Error() != want {
				t.Errorf("%s: error\n%s\nwant\n%s", name, err, want)
			}
		}
		st, err := migrations.Status(ctx, db, &migrations.Options{Dialect: d})
		if err != nil || st.Version != 3 || !st.Dirty || st.Found.Version != latest || st.Agrees() {
			t.Errorf("Status = %+v, %v; want dirty 3, tables of %d", st, err, latest)
		}

		if err := migrations.Force(ctx, db, 99, &migrations.Options{Dialect: d}); err == nil {
			t.Errorf("Force(99) succeeded, want an error")
		}
		if err := migrations.Force(ctx, db, latest, &migrations.Options{Dialect: d}); err != nil {
			t.Fatalf("Force(%d): %v", latest, err)
		}
		checkVersion(t, db, d, latest, false)
		if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); !errors.Is(err, migrations.ErrNoChange) {
			t.Fatalf("Up after Force: %v", err)
		}
		if err := migrations.Down(ctx, db, len(want), &migrations.Options{Dialect: d}); err != nil {
			t.Fatalf("Down(%d): %v", len(want), err)
		}
		if err := migrations.Force(ctx, db, 0, &migrations.Options{Dialect: d}); err != nil {
			t.Fatalf("Force(0): %v", err)
		}
		checkVersion(t, db, d, 0, false)
	})
}

// TestMySQLHeals: on MySQL, a migration cut off between its statement and
// its version record leaves the record dirty, with the statement applied
// or not; Up finds which version the tables match and goes on from there.
func TestMySQLHeals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		schema int // the version the tables are at
		dirty  int // the dirty version recorded
	}{
		{"up statement applied", 3, 3},
		{"up statement not applied", 2, 3},
		{"down statement applied", 3, 3},
		{"down statement not applied", 4, 3},
		{"last up statement not applied", 6, int(latest)},
		{"last up statement applied", int(latest), int(latest)},
		{"first down applied", 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := sqltest.MySQL(t)
			ctx := t.Context()
			opts := &migrations.Options{Dialect: dialect.MySQL}
			if err := migrations.Up(ctx, db, opts); err != nil {
				t.Fatal(err)
			}
			if n := stepsDown(uint(tc.schema)); n > 0 {
				if err := migrations.Down(ctx, db, n, opts); err != nil {
					t.Fatal(err)
				}
			}
			markDirty(t, db, dialect.MySQL, tc.dirty)
			if err := migrations.Up(ctx, db, opts); err != nil && !errors.Is(err, migrations.ErrNoChange) {
				t.Fatalf("Up on a dirty database: %v", err)
			}
			checkVersion(t, db, dialect.MySQL, latest, false)
			checkTables(t, db, dialect.MySQL, true, true, true)
		})
	}
}

// checkDriverError checks that the error of a failed migration unwraps to
// the driver's error: the table already exists.
func checkDriverError(t *testing.T, err error, d *dialect.Dialect) {
	t.Helper()
	switch d {
	case dialect.SQLite:
		var e sqlite3.Error
		if !errors.As(err, &e) || e.Code != sqlite3.ErrError {
			t.Errorf("error %v does not unwrap to sqlite3.Error SQLITE_ERROR", err)
		}
	case dialect.MySQL:
		var e *mysql.MySQLError
		if !errors.As(err, &e) || e.Number != 1050 {
			t.Errorf("error %v does not unwrap to MySQL error 1050", err)
		}
	case dialect.Postgres:
		var e interface{ SQLState() string }
		if !errors.As(err, &e) || e.SQLState() != "42P07" {
			t.Errorf("error %v does not unwrap to SQLSTATE 42P07", err)
		}
	}
}

// TestConcurrentUp runs Up from several goroutines at once, each as if from
// its own process: exactly one applies the migrations.
func TestConcurrentUp(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		pools := []*sql.DB{db, db, db, db}
		if d == dialect.SQLite {
			// Separate pools on one file stand for separate processes.
			var file string
			if err := db.QueryRowContext(t.Context(), `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(pools); i++ {
				pools[i] = sqltest.SQLiteAt(t, file)
			}
		}
		errs := make([]error, len(pools))
		var wg sync.WaitGroup
		for i, p := range pools {
			wg.Go(func() { errs[i] = migrations.Up(t.Context(), p, &migrations.Options{Dialect: d}) })
		}
		wg.Wait()
		applied := 0
		for i, err := range errs {
			switch {
			case err == nil:
				applied++
			case !errors.Is(err, migrations.ErrNoChange):
				t.Errorf("Up %d: %v", i, err)
			}
		}
		if applied != 1 {
			t.Errorf("%d of %d concurrent Up calls applied migrations, want 1", applied, len(pools))
		}
		checkVersion(t, db, d, latest, false)
	})
}

func TestCanceled(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := migrations.Up(ctx, db, &migrations.Options{Dialect: dialect.SQLite}); !errors.Is(err, context.Canceled) {
		t.Errorf("Up with a canceled context returned %v", err)
	}
	checkVersion(t, db, dialect.SQLite, 0, false)
}

// TestLockedSQLite holds the migration lock file, as another process would
// during its migration, and checks that Up waits for it until its context
// ends, applying nothing.
func TestLockedSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	db := sqltest.SQLiteAt(t, path)
	// Another process's lock.
	held := flock.New(path + ".klepto-migrate.lock")
	if err := held.Lock(); err != nil {
		t.Fatal(err)
	}

	// Correct code waits out the deadline whatever the machine's speed.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := migrations.Up(ctx, db, &migrations.Options{Dialect: dialect.SQLite}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Up while the lock is held returned %v, want context.DeadlineExceeded", err)
	}
	// Version would wait for the lock too: look at the tables instead.
	if ok, err := dialect.SQLite.TableExists(t.Context(), db, migrations.ArchivesTable); ok || err != nil {
		t.Errorf("TableExists(%s) = %v, %v while Up waited for the lock; want false", migrations.ArchivesTable, ok, err)
	}
	if err := held.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(t.Context(), db, &migrations.Options{Dialect: dialect.SQLite}); err != nil {
		t.Errorf("Up after the lock was released: %v", err)
	}
	// The lock file goes with the lock.
	if _, err := os.Stat(path + ".klepto-migrate.lock"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Up left the lock file behind: %v", err)
	}
}

// TestLockedPostgres holds golang-migrate's advisory lock, as another
// migrating process would, and checks that Up gives up with ErrLocked once
// its context's deadline has passed.
func TestLockedPostgres(t *testing.T) {
	db := sqltest.Postgres(t)
	ctx := t.Context()
	var dbName, schema string
	if err := db.QueryRowContext(ctx, `SELECT current_database(), current_schema()`).Scan(&dbName, &schema); err != nil {
		t.Fatal(err)
	}
	id, err := database.GenerateAdvisoryLockId(dbName, schema, migrations.MigrationsTable)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, id); err != nil {
		t.Fatal(err)
	}

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = migrations.Up(short, db, &migrations.Options{Dialect: dialect.Postgres})
	if !errors.Is(err, migrations.ErrLocked) || !dialect.IsBusy(err) {
		t.Errorf("Up while another migration holds the lock returned %v, want ErrLocked wrapping a busy error", err)
	}

	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, id); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(ctx, db, &migrations.Options{Dialect: dialect.Postgres}); err != nil {
		t.Errorf("Up after the lock was released: %v", err)
	}
}

// TestLockedMySQL holds the migration lock, GET_LOCK on golang-migrate's
// name, as another migrating process would, and checks that Up gives up
// with ErrLocked once its context's deadline has passed.
func TestLockedMySQL(t *testing.T) {
	db := sqltest.MySQL(t)
	ctx := t.Context()
	var dbName string
	if err := db.QueryRowContext(ctx, `SELECT DATABASE()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	name, err := database.GenerateAdvisoryLockId(dbName + ":" + migrations.MigrationsTable)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	var got int
	if err := holder.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, name).Scan(&got); err != nil || got != 1 {
		t.Fatalf("GET_LOCK = %d, %v", got, err)
	}

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := migrations.Up(short, db, &migrations.Options{Dialect: dialect.MySQL}); !errors.Is(err, migrations.ErrLocked) {
		t.Errorf("Up while another migration holds the lock returned %v, want ErrLocked", err)
	}

	if _, err := holder.ExecContext(ctx, `SELECT RELEASE_LOCK(?)`, name); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(ctx, db, &migrations.Options{Dialect: dialect.MySQL}); err != nil {
		t.Errorf("Up after the lock was released: %v", err)
	}
}

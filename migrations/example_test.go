package migrations_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/mattn/go-sqlite3"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/migrations"
)

func Example() {
	dir, err := os.MkdirTemp("", "migrations")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite3", dialect.SQLiteDSN(filepath.Join(dir, "app.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	if err := migrations.Up(ctx, db, nil); err != nil {
		log.Fatal(err)
	}
	st, err := migrations.Status(ctx, db, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("version", st.Version, "of", st.Latest(), "dirty", st.Dirty)
	fmt.Println(migrations.Up(ctx, db, nil))
	// Output:
	// version 7 of 7 dirty false
	// migrations: no change
}

// Generate numbers klepto's files after the application's own migrations.
func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "migrations")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// The application's own first migration.
	for _, name := range []string{"0001_users.up.sql", "0001_users.down.sql"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("-- users\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}

	paths, err := migrations.Generate(dialect.Postgres, dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range paths {
		fmt.Println(filepath.Base(p))
	}
	// Output:
	// 0002_klepto_archives.up.sql
	// 0002_klepto_archives.down.sql
	// 0003_klepto_changes.up.sql
	// 0003_klepto_changes.down.sql
	// 0004_klepto_changes_keys.up.sql
	// 0004_klepto_changes_keys.down.sql
	// 0005_klepto_leases.up.sql
	// 0005_klepto_leases.down.sql
	// 0006_klepto_archives_stats.up.sql
	// 0006_klepto_archives_stats.down.sql
	// 0007_klepto_archives_types.up.sql
	// 0007_klepto_archives_types.down.sql
}

func ExampleSQL() {
	script, err := migrations.SQL(dialect.MySQL)
	if err != nil {
		log.Fatal(err)
	}
	for line := range strings.Lines(script) {
		if strings.HasPrefix(line, "--") || strings.HasPrefix(line, "CREATE") {
			fmt.Print(line)
		}
	}
	// Output:
	// -- klepto-sql schema for mysql, migrations 1 to 7.
	// -- 0001_klepto_archives.up.sql
	// CREATE TABLE klepto_archives (
	// -- 0002_klepto_changes.up.sql
	// CREATE TABLE klepto_changes (
	// -- 0003_klepto_changes_keys.up.sql
	// -- 0004_klepto_leases.up.sql
	// CREATE TABLE klepto_leases (
	// -- 0006_klepto_archives_stats.up.sql
	// -- 0007_klepto_archives_types.up.sql
}

// Recovering from a migration that failed part way.
func ExampleForce() {
	_ = func(ctx context.Context, db *sql.DB) error {
		err := migrations.Up(ctx, db, nil)
		if dirty, ok := errors.AsType[*migrations.DirtyError](err); ok {
			// After checking, or repairing, the schema by hand: the
			// migration to dirty.Version did not take effect.
			if err := migrations.Force(ctx, db, dirty.Version-1, nil); err != nil {
				return err
			}
			return migrations.Up(ctx, db, nil)
		}
		return err
	}
}

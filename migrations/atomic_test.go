package migrations_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/lib/pq"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
)

// TestFailedUpKeepsVersion makes the last migration fail part way, after
// its first statement (on MySQL, its only one), and checks that the version
// stays at the previous one, clean, with nothing of the failed migration
// left; Up succeeds once the obstacle is gone, with no Force.
func TestFailedUpKeepsVersion(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		opts := &migrations.Options{Dialect: d}
		if err := migrations.Up(ctx, db, opts); err != nil {
			t.Fatal(err)
		}
		// Back to version 3: down 7, down 6, down 4.
		if err := migrations.Down(ctx, db, stepsDown(3), opts); err != nil {
			t.Fatal(err)
		}
		// Migration 4 creates klepto_leases, then (but on MySQL) the
		// index klepto_leases_expires: an index of that name on another
		// table makes the second statement fail. On MySQL, index names
		// are per table: a view called klepto_leases makes its one
		// statement fail.
		obstacle := []string{`CREATE TABLE other (x INTEGER)`, `CREATE INDEX klepto_leases_expires ON other (x)`}
		remove := []string{`DROP TABLE other`}
		if d == dialect.MySQL {
			obstacle = []string{`CREATE VIEW klepto_leases AS SELECT 1 AS x`}
			remove = []string{`DROP VIEW klepto_leases`}
		}
		execAll(t, db, obstacle...)
		err := migrations.Up(ctx, db, opts)
		if err == nil {
			t.Fatal("Up over an index in the way succeeded")
		}
		if _, ok := errors.AsType[*migrations.DirtyError](err); ok {
			t.Fatalf("Up returned %v, want the database's error", err)
		}
		checkDriverError(t, err, d)
		if want := "migration to version 4 failed, and nothing changed: "; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
		checkVersion(t, db, d, 3, false)
		checkTables(t, db, d, true, true, false)

		execAll(t, db, remove...)
		if err := migrations.Up(ctx, db, opts); err != nil {
			t.Fatalf("Up once the obstacle is gone: %v", err)
		}
		checkVersion(t, db, d, latest, false)
		checkTables(t, db, d, true, true, true)
	})
}

// TestFailedDownKeepsVersion reverts migrations as a user who may not drop
// klepto's tables (on SQLite: over an index that keeps a column from being
// dropped), and checks that the version stays at the last clean one, so
// that Up (and so sqlarchive.Open) keeps working without Force.
func TestFailedDownKeepsVersion(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
			t.Fatal(err)
		}
		user, steps, wantV := db, 1, latest
		switch d {
		case dialect.SQLite:
			// Migration 3's down drops klepto_changes.key_text, which
			// SQLite refuses while an index uses it; downs 7, 6 and 4
			// go first.
			execAll(t, db, `CREATE INDEX mine ON klepto_changes (key_text)`)
			steps, wantV = 4, 3
		case dialect.Postgres:
			// Not the owner, the role may not alter klepto_archives:
			// down 7 fails.
			user = postgresRole(t, db)
		case dialect.MySQL:
			// The user may alter tables, not drop them: downs 7 and 6
			// succeed, down 4 fails.
			user = mysqlUser(t, db)
			steps, wantV = 3, 4
		}
		opts := &migrations.Options{Dialect: d}
		err := migrations.Down(ctx, user, steps, opts)
		if err == nil {
			t.Fatalf("Down(%d) succeeded, want a failure", steps)
		}
		checkDriverErrorOf(t, err, d)
		if want := "failed, and nothing changed: "; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
		checkVersion(t, db, d, wantV, false)
		checkTables(t, db, d, true, true, wantV >= 4)
		if err := migrations.Up(ctx, user, opts); err != nil && !errors.Is(err, migrations.ErrNoChange) {
			t.Errorf("Up after the failed Down: %v", err)
		}
		checkVersion(t, db, d, latest, false)
	})
}

// checkDriverErrorOf checks that err unwraps to the database's error for
// the failures of TestFailedDownKeepsVersion.
func checkDriverErrorOf(t *testing.T, err error, d *dialect.Dialect) {
	t.Helper()
	switch d {
	case dialect.MySQL:
		if e, ok := errors.AsType[*mysql.MySQLError](err); !ok || e.Number != 1142 {
			t.Errorf("error %v does not unwrap to MySQL error 1142 (command denied)", err)
		}
	case dialect.Postgres:
		if e, ok := errors.AsType[interface {
			error
			SQLState() string
		}](err); !ok || e.SQLState() != "42501" {
			t.Errorf("error %v does not unwrap to SQLSTATE 42501 (insufficient privilege)", err)
		}
	}
}

// postgresRole returns a pool on db's schema as a new role that may read
// and write klepto's tables but, not owning them, may not drop them.
func postgresRole(t *testing.T, db *sql.DB) *sql.DB {
	t.Helper()
	ctx := t.Context()
	var schema string
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	role := fmt.Sprintf("klepto_test_role_%016x", rand.Uint64())
	q := dialect.Postgres.QuoteIdent
	execAll(t, db, `CREATE ROLE `+q(role),
		`GRANT USAGE ON SCHEMA `+q(schema)+` TO `+q(role),
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA `+q(schema)+` TO `+q(role))
	t.Cleanup(func() {
		for _, s := range []string{`DROP OWNED BY ` + q(role), `DROP ROLE ` + q(role)} {
			if _, err := db.ExecContext(context.Background(), s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	})
	cfg, err := pq.NewConfig(os.Getenv(sqltest.PostgresEnv))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Runtime == nil {
		cfg.Runtime = map[string]string{}
	}
	cfg.Runtime["search_path"] = schema
	cfg.Runtime["role"] = role
	c, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	user := sql.OpenDB(c)
	t.Cleanup(func() { _ = user.Close() })
	var current string
	if err := user.QueryRowContext(ctx, `SELECT current_user`).Scan(&current); err != nil || current != role {
		t.Fatalf("connected as %q (%v), want %q", current, err, role)
	}
	return user
}

// mysqlUser returns a pool on db's database as a new user that may read,
// write and create tables there, but not drop them.
func mysqlUser(t *testing.T, db *sql.DB) *sql.DB {
	t.Helper()
	ctx := t.Context()
	var name string
	if err := db.QueryRowContext(ctx, `SELECT DATABASE()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	user := fmt.Sprintf("kt_%012x", rand.Uint64()>>16)
	account := "'" + user + "'@'%'"
	execAll(t, db, `CREATE USER `+account,
		`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON `+dialect.MySQL.QuoteIdent(name)+`.* TO `+account)
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), `DROP USER `+account); err != nil {
			t.Errorf("drop user %s: %v", account, err)
		}
	})
	cfg, err := mysql.ParseDSN(os.Getenv(sqltest.MySQLEnv))
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Passwd, cfg.DBName = user, "", name
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pool := sql.OpenDB(c)
	t.Cleanup(func() { _ = pool.Close() })
	if err := pool.PingContext(ctx); err != nil {
		t.Fatalf("connect as %s: %v", account, err)
	}
	return pool
}

func execAll(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

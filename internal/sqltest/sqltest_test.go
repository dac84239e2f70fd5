package sqltest_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

func TestEach(t *testing.T) {
	var ran []string
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ran = append(ran, d.Name())
		if !strings.HasSuffix(t.Name(), "/"+d.Name()) {
			t.Errorf("subtest %s runs dialect %v", t.Name(), d)
		}
		if err := db.PingContext(t.Context()); err != nil {
			t.Fatal(err)
		}
		// Every database starts empty.
		tables, err := d.Tables(t.Context(), db)
		if err != nil || len(tables) != 0 {
			t.Errorf("new database has tables %q, %v; want none", tables, err)
		}
	})
	if len(ran) == 0 || ran[0] != "sqlite" {
		t.Errorf("Each ran %q, want sqlite first", ran)
	}
}

// TestIsolation checks that two databases of one test never share tables,
// and that each is dropped when its test ends.
func TestIsolation(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		var name string
		t.Run("Inner", func(t *testing.T) {
			other := sqltest.Open(t, d)
			for _, db := range []*sql.DB{db, other} {
				if _, err := db.ExecContext(t.Context(), `CREATE TABLE same (x INTEGER)`); err != nil {
					t.Fatalf("create the same table in two databases: %v", err)
				}
			}
			name = currentSchema(t, other, d)
		})
		if d == dialect.SQLite {
			return // t.TempDir removes the file
		}
		if name == "" || !strings.HasPrefix(name, "klepto_test_") {
			t.Fatalf("inner test ran in schema %q, want klepto_test_…", name)
		}
		if schemaExists(t, db, d, name) {
			t.Errorf("schema %s still exists after its test ended", name)
		}
	})
}

func currentSchema(t *testing.T, db *sql.DB, d *dialect.Dialect) string {
	t.Helper()
	query := map[*dialect.Dialect]string{
		dialect.SQLite:   `SELECT file FROM pragma_database_list WHERE name = 'main'`,
		dialect.Postgres: `SELECT current_schema()`,
		dialect.MySQL:    `SELECT DATABASE()`,
	}[d]
	var name string
	if err := db.QueryRowContext(t.Context(), query).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

func schemaExists(t *testing.T, db *sql.DB, d *dialect.Dialect, name string) bool {
	t.Helper()
	query := d.Rebind(`SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?`)
	var n int
	if err := db.QueryRowContext(t.Context(), query, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func TestSQLitePools(t *testing.T) {
	writer, reader := sqltest.SQLitePools(t)
	if got := writer.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer allows %d connections, want 1", got)
	}
	if got := reader.Stats().MaxOpenConnections; got != runtime.NumCPU() {
		t.Errorf("reader allows %d connections, want %d", got, runtime.NumCPU())
	}
	ctx := t.Context()
	if _, err := writer.ExecContext(ctx, `CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err == nil {
		t.Errorf("the reader pool wrote to the database")
	}
	var mode string
	if err := reader.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

// fakeTB records what a helper does with a missing DSN. Skip and Fatal end
// the goroutine, as the real ones do.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingDSN(t *testing.T) {
	helpers := []struct {
		name, env string
		open      func(testing.TB) *sql.DB
	}{
		{"Postgres", sqltest.PostgresEnv, sqltest.Postgres},
		{"MySQL", sqltest.MySQLEnv, sqltest.MySQL},
		{"PostgresReplica/primary", sqltest.PGPrimaryEnv, func(tb testing.TB) *sql.DB { return sqltest.PostgresReplica(tb).Primary.DB }},
		{"PostgresReplica/replica", sqltest.PGReplicaEnv, func(tb testing.TB) *sql.DB { return sqltest.PostgresReplica(tb).Replica.DB }},
	}
	for _, h := range helpers {
		for _, require := range []string{"", "0", "1"} {
			t.Run(h.name+"/require="+require, func(t *testing.T) {
				t.Setenv(h.env, "")
				os.Unsetenv(h.env)
				if h.env == sqltest.PGReplicaEnv {
					// The primary's DSN is read first: give one, never used.
					t.Setenv(sqltest.PGPrimaryEnv, "postgres://127.0.0.1:1/unused")
				}
				t.Setenv(sqltest.RequireEnv, require)
				f := &fakeTB{TB: t}
				var wg sync.WaitGroup
				wg.Go(func() { h.open(f) })
				wg.Wait()
				if require == "1" {
					if f.failed == "" || f.skipped != "" {
						t.Errorf("%s with %s=1 and no DSN: skipped %q, failed %q; want a failure", h.name, sqltest.RequireEnv, f.skipped, f.failed)
					}
					return
				}
				if !strings.Contains(f.skipped, h.env) || f.failed != "" {
					t.Errorf("%s without a DSN: skipped %q, failed %q; want a skip naming %s", h.name, f.skipped, f.failed, h.env)
				}
			})
		}
	}
}

func TestFaulty(t *testing.T) {
	errInjected := errors.New("injected")
	var badConns atomic.Int32
	var fail atomic.Value // Op to fail with errInjected
	fail.Store(sqltest.Op(0))
	db := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
		if op == sqltest.OpExec && strings.Contains(query, "bad conn") && badConns.Add(1) == 1 {
			return driver.ErrBadConn
		}
		if op == fail.Load().(sqltest.Op) {
			return errInjected
		}
		return nil
	})
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}

	// database/sql retries a driver.ErrBadConn on another connection.
	if _, err := db.ExecContext(ctx, `INSERT INTO t VALUES (1) -- bad conn`); err != nil {
		t.Errorf("exec after one bad connection: %v", err)
	}
	if n := badConns.Load(); n != 2 {
		t.Errorf("the injector saw the statement %d times, want 2 (one retry)", n)
	}

	for _, op := range []sqltest.Op{sqltest.OpExec, sqltest.OpQuery, sqltest.OpBegin, sqltest.OpPrepare} {
		fail.Store(op)
		var err error
		switch op {
		case sqltest.OpExec:
			_, err = db.ExecContext(ctx, `INSERT INTO t VALUES (2)`)
		case sqltest.OpQuery:
			err = db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(new(int))
		case sqltest.OpBegin:
			_, err = db.BeginTx(ctx, nil)
		case sqltest.OpPrepare:
			_, err = db.PrepareContext(ctx, `SELECT 1`)
		}
		if !errors.Is(err, errInjected) {
			t.Errorf("%v with an injected error returned %v", op, err)
		}
	}

	// A failed commit leaves nothing behind.
	fail.Store(sqltest.OpCommit)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (3)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); !errors.Is(err, errInjected) {
		t.Errorf("Commit returned %v, want the injected error", err)
	}
	fail.Store(sqltest.Op(0))
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE x = 3`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows of a failed commit are visible (%v), want 0", n, err)
	}

	// Prepared statements are checked when they run, too.
	stmt, err := db.PrepareContext(ctx, `INSERT INTO t VALUES (4)`)
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	fail.Store(sqltest.OpExec)
	if _, err := stmt.ExecContext(ctx); !errors.Is(err, errInjected) {
		t.Errorf("prepared Exec returned %v, want the injected error", err)
	}
	fail.Store(sqltest.Op(0))
	if _, err := stmt.ExecContext(ctx); err != nil {
		t.Errorf("prepared Exec: %v", err)
	}

	fresh := sqltest.Faulty(t, func(op sqltest.Op, _ string) error {
		if op == sqltest.OpConnect {
			return errInjected
		}
		return nil
	})
	if err := fresh.PingContext(context.Background()); !errors.Is(err, errInjected) {
		t.Errorf("Ping with failing connects returned %v", err)
	}
	if got := sqltest.OpRollback.String(); got != "rollback" {
		t.Errorf("OpRollback.String() = %q", got)
	}
}

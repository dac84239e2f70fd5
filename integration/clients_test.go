package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqltable"
)

// The rows a memo writes are for people too: each database's own client
// finds a readable key_text, the arguments as JSON and the value as JSON.
func TestClientsReadRows(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, d)
			table, err := sqltable.Open[int](t.Context(), db.DB, "fib", &sqltable.Options{Dialect: d})
			if err != nil {
				t.Fatal(err)
			}
			m, err := cache.Memoize(fib, &cache.MemoOptions[int]{Archive: table})
			if err != nil {
				t.Fatal(err)
			}
			for n := range 12 {
				if _, err := m.Call(t.Context(), fibArgs{N: n}); err != nil {
					t.Fatal(err)
				}
			}
			// JSON text differs in spacing between databases (PostgreSQL's
			// JSONB normalizes it), so the query removes spaces.
			query := `SELECT key_text, REPLACE(CAST(args AS CHAR), ' ', ''), CAST(value AS CHAR) FROM fib WHERE key_text = '(N=10)'`
			if d == dialect.Postgres {
				query = `SELECT key_text, REPLACE(args::text, ' ', ''), value::text FROM fib WHERE key_text = '(N=10)'`
			}
			got := runClient(t, db, query)
			if want := "(N=10)|{\"N\":10}|55"; got != want {
				t.Fatalf("the client printed %q, want %q", got, want)
			}
		})
	}
}

// runClient runs query with the command-line client of db's database and
// returns its output: one row, columns separated by |.
func runClient(t *testing.T, db sqltest.Database, query string) string {
	t.Helper()
	var cmd *exec.Cmd
	switch db.Dialect {
	case dialect.SQLite:
		cmd = exec.CommandContext(t.Context(), client(t, "sqlite3"), "-readonly", db.Name, query)
	case dialect.Postgres:
		cmd = exec.CommandContext(t.Context(), client(t, "psql"), "-X", "-A", "-t", "-d", os.Getenv(sqltest.PostgresEnv), "-c", query)
		cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+db.Name)
	case dialect.MySQL:
		cfg, err := mysql.ParseDSN(db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		host, port, _ := strings.Cut(cfg.Addr, ":")
		args := []string{"-N", "-B", "-u", cfg.User, "-h", host, "-e", query}
		if port != "" {
			args = append(args, "-P", port)
		}
		if cfg.Passwd != "" {
			args = append(args, "-p"+cfg.Passwd)
		}
		cmd = exec.CommandContext(t.Context(), client(t, "mariadb", "mysql"), append(args, cfg.DBName)...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return strings.ReplaceAll(strings.TrimSpace(string(out)), "\t", "|")
}

// client returns the path of the first of names on PATH. A missing client
// skips the test, or fails it under KLEPTO_TEST_REQUIRE_DBS=1 (CI installs
// the clients).
func client(t *testing.T, names ...string) string {
	t.Helper()
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := fmt.Sprintf("no %s client on PATH", strings.Join(names, " or "))
	if v := os.Getenv(sqltest.RequireEnv); v != "" && v != "0" {
		t.Fatalf("%s=%s but %s", sqltest.RequireEnv, v, msg)
	}
	t.Skip(msg)
	return ""
}

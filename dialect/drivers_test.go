package dialect_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/klepto-sql/klepto/dialect"
)

func TestModerncSQLiteDSN(t *testing.T) {
	got := dialect.ModerncSQLiteDSN("/data/my cache?#%.db")
	want := "file:/data/my%20cache%3F%23%25.db?_pragma=busy_timeout(100)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	if got != want {
		t.Errorf("ModerncSQLiteDSN = %s\nwant %s", got, want)
	}

	// The settings take effect on modernc.org/sqlite's connections.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "my cache?#%.db")
	writer := openModernc(t, dialect.ModerncSQLiteDSN(path))
	reader := openModernc(t, dialect.ModerncSQLiteReaderDSN(path))
	for _, p := range []struct {
		db           *sql.DB
		pragma, want string
	}{
		{writer, "journal_mode", "wal"}, {writer, "busy_timeout", "100"}, {writer, "synchronous", "1"}, {writer, "query_only", "0"},
		{reader, "journal_mode", "wal"}, {reader, "busy_timeout", "100"}, {reader, "synchronous", "1"}, {reader, "query_only", "1"},
	} {
		var got string
		if err := p.db.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", p.pragma, err)
		}
		if got != p.want {
			t.Errorf("PRAGMA %s = %s, want %s", p.pragma, got, p.want)
		}
	}
	if _, err := writer.ExecContext(ctx, "CREATE TABLE t (k INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err == nil {
		t.Error("the reader pool wrote a row")
	}

	// _txlock=immediate: a transaction takes the write lock at BEGIN, so a
	// second writer's BEGIN fails busy, after busy_timeout, rather than its
	// first write.
	tx, err := writer.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	other := openModernc(t, dialect.ModerncSQLiteDSN(path))
	tx2, err := other.BeginTx(ctx, nil)
	if !dialect.IsBusy(err) {
		if err == nil {
			_ = tx2.Rollback()
		}
		t.Errorf("BEGIN beside another writer: %v, want a busy error", err)
	}
}

// TestClassifyModerncErrors provokes, through modernc.org/sqlite, the errors
// the classifiers recognize.
func TestClassifyModerncErrors(t *testing.T) {
	ctx := context.Background()
	db := openModernc(t, dialect.ModerncSQLiteDSN(filepath.Join(t.TempDir(), "test.db")))
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (k INTEGER PRIMARY KEY, u TEXT UNIQUE, n TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1, 'a', 'x')"); err != nil {
		t.Fatal(err)
	}
	query := func(q string) error {
		_, err := db.ExecContext(ctx, q)
		var se *sqlite.Error
		if !errors.As(err, &se) {
			t.Fatalf("%s: %v (%T), want a *sqlite.Error", q, err, err)
		}
		return err
	}
	tests := []struct {
		err  error
		want string
	}{
		{query("INSERT INTO t VALUES (1, 'b', 'x')"), "unique"}, // SQLITE_CONSTRAINT_PRIMARYKEY
		{query("INSERT INTO t VALUES (2, 'a', 'x')"), "unique"}, // SQLITE_CONSTRAINT_UNIQUE
		{query("INSERT INTO t VALUES (3, 'c', NULL)"), ""},      // SQLITE_CONSTRAINT_NOTNULL
		{query("SELECT * FROM missing"), "missing"},
		{query("SELECT zeroblob(2000000000)"), "toolarge"},
		{query("SELEC 1"), ""},
	}
	classifiers := map[string]func(error) bool{
		"busy": dialect.IsBusy, "deadlock": dialect.IsDeadlock, "serialization": dialect.IsSerialization,
		"toolarge": dialect.IsTooLarge, "missing": dialect.IsMissingTable, "unique": dialect.IsUniqueViolation,
	}
	for _, tc := range tests {
		for name, is := range classifiers {
			for _, err := range []error{tc.err, fmt.Errorf("op: %w", tc.err)} {
				if got := is(err); got != (name == tc.want) {
					t.Errorf("%s(%v) = %v, want %v", name, err, got, !got)
				}
			}
		}
	}
}

// TestClassifyPgxErrors covers pgx's *pgconn.PgError, which carries the
// SQLSTATE as lib/pq's *pq.Error does.
func TestClassifyPgxErrors(t *testing.T) {
	for code, is := range map[string]func(error) bool{
		"55P03": dialect.IsBusy, "40P01": dialect.IsDeadlock, "40001": dialect.IsSerialization,
		"54000": dialect.IsTooLarge, "42P01": dialect.IsMissingTable, "23505": dialect.IsUniqueViolation,
	} {
		err := fmt.Errorf("op: %w", &pgconn.PgError{Code: code})
		if !is(err) {
			t.Errorf("%s: not recognized", code)
		}
	}
	if err := (&pgconn.PgError{Code: "42601"}); dialect.Retryable(err) || dialect.IsMissingTable(err) {
		t.Errorf("a syntax error is classified")
	}
}

func openModernc(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(context.Background()); err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	return db
}

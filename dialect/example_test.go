package dialect_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
)

// An archive table on SQLite: create it, write an entry, and read it back as
// any SQL client would.
func Example() {
	dir, err := os.MkdirTemp("", "dialect")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite3", dialect.SQLiteDSN(filepath.Join(dir, "cache.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	d := dialect.SQLite

	stmts, err := d.CreateTable("fib", codec.JSON)
	if err != nil {
		log.Fatal(err)
	}
	err = d.WithDDLLock(ctx, db, "fib", func(ctx context.Context, q dialect.Querier) error {
		for _, stmt := range stmts {
			if _, err := q.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	upsert, err := d.Upsert(dialect.Upsert{
		Table:   "fib",
		Columns: []string{"key_hash", "key_text", "value", "size_bytes", "updated_at"},
		Key:     []string{"key_hash"},
		Update:  []string{"value", "size_bytes", "updated_at"},
		Rows:    1,
	})
	if err != nil {
		log.Fatal(err)
	}
	key, value := "(n=30)", "832040"
	hash := sha256.Sum256([]byte(key))
	now := time.Date(2026, 11, 27, 6, 25, 59, 37e6, time.UTC)
	if _, err := db.ExecContext(ctx, upsert, hash[:], key, value, len(value), d.TimeArg(now)); err != nil {
		log.Fatal(err)
	}

	var got string
	var updated time.Time
	err = db.QueryRowContext(ctx, d.Rebind(`SELECT value, updated_at FROM fib WHERE key_text = ?`), key).
		Scan(&got, d.ScanTime(&updated))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got, updated)
	// Output: 832040 2026-11-27 06:25:59.037 +0000 UTC
}

func ExampleValidateTableName() {
	for _, name := range []string{"fib", "Fib", "fib; DROP TABLE x", "klepto_archives"} {
		fmt.Println(dialect.ValidateTableName(name))
	}
	// Output:
	// <nil>
	// dialect: invalid table name "Fib": upper-case letter 'F' at byte 0; names are lower case
	// dialect: invalid table name "fib; DROP TABLE x": semicolon at byte 3
	// dialect: invalid table name "klepto_archives": the prefix "klepto_" is reserved
}

func ExampleDialect_Upsert() {
	u := dialect.Upsert{
		Table:   "fib",
		Columns: []string{"key_hash", "key_text", "value"},
		Key:     []string{"key_hash"},
		Update:  []string{"value"},
		Rows:    2,
	}
	for _, d := range []*dialect.Dialect{dialect.Postgres, dialect.MySQL} {
		query, err := d.Upsert(u)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(query)
	}
	// Output:
	// INSERT INTO "fib" ("key_hash", "key_text", "value") VALUES ($1, $2, $3), ($4, $5, $6) ON CONFLICT ("key_hash") DO UPDATE SET "value" = EXCLUDED."value"
	// INSERT INTO `fib` (`key_hash`, `key_text`, `value`) VALUES (?, ?, ?), (?, ?, ?) ON DUPLICATE KEY UPDATE `value` = VALUES(`value`)
}

func ExampleDialect_Rebind() {
	fmt.Println(dialect.Postgres.Rebind(`SELECT value FROM fib WHERE key_text = ? AND value <> '?'`))
	// Output: SELECT value FROM fib WHERE key_text = $1 AND value <> '?'
}

func ExampleDialect_QuoteIdent() {
	fmt.Println(dialect.Postgres.QuoteIdent(`order`), dialect.MySQL.QuoteIdent("order"), dialect.SQLite.QuoteIdent(`a"b`))
	// Output: "order" `order` "a""b"
}

func ExampleLookup() {
	d, err := dialect.Lookup("mariadb")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d, d == dialect.MySQL)
	_, err = dialect.Lookup("oracle")
	fmt.Println(err)
	// Output:
	// mysql true
	// dialect: unknown dialect "oracle" (want sqlite, mysql or postgres)
}

func ExampleDialect_TimeArg() {
	at := time.Date(2026, 11, 27, 7, 25, 59, 37_654_321, time.FixedZone("CET", 3600))
	fmt.Println(dialect.SQLite.TimeArg(at))
	fmt.Println(dialect.MySQL.TimeArg(at))
	fmt.Println(dialect.SQLite.TimeArg(time.Time{}))
	// Output:
	// 2026-11-27T06:25:59.037Z
	// 2026-11-27 06:25:59.037654
	// <nil>
}

// The recommended SQLite setup: one writer connection and a pool of readers
// on the same file.
func ExampleSQLiteDSN() {
	dir, err := os.MkdirTemp("", "dialect")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "cache.db")

	writer, err := sql.Open("sqlite3", dialect.SQLiteDSN(path))
	if err != nil {
		log.Fatal(err)
	}
	defer writer.Close()
	writer.SetMaxOpenConns(1)
	// The writer creates the file in WAL mode before the readers open it.
	if _, err := writer.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		log.Fatal(err)
	}

	reader, err := sql.Open("sqlite3", dialect.SQLiteReaderDSN(path))
	if err != nil {
		log.Fatal(err)
	}
	defer reader.Close()
	_, err = reader.Exec(`INSERT INTO t VALUES (1)`)
	fmt.Println(err)
	fmt.Println(dialect.SQLiteDSN("/var/lib/app/cache.db"))
	// Output:
	// attempt to write a readonly database
	// file:/var/lib/app/cache.db?_journal_mode=WAL&_busy_timeout=100&_txlock=immediate&_synchronous=NORMAL
}

func ExampleIsMissingTable() {
	dir, err := os.MkdirTemp("", "dialect")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite3", dialect.SQLiteDSN(filepath.Join(dir, "cache.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	_, err = db.Exec(`SELECT value FROM fib`)
	err = fmt.Errorf("get: %w", err)
	fmt.Println(dialect.IsMissingTable(err), dialect.Retryable(err))
	// Output: true false
}

// Detect tells the database of a *sql.DB or *sql.Conn from its driver;
// Resolve checks a dialect given by the caller, and refuses one that does
// not match, before any statement fails in the database's own words.
func ExampleDetect() {
	dir, err := os.MkdirTemp("", "dialect")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite3", dialect.SQLiteDSN(filepath.Join(dir, "cache.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	d, err := dialect.Detect(ctx, db)
	fmt.Println(d, err)
	_, err = dialect.Resolve(ctx, db, dialect.Postgres)
	fmt.Println(err)

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	_, err = dialect.Detect(ctx, tx)
	fmt.Println(err)
	// Output:
	// sqlite <nil>
	// dialect postgres does not match the database's driver (github.com/mattn/go-sqlite3, dialect sqlite)
	// dialect: cannot detect the database behind a *sql.Tx, which does not show its driver: name the dialect
}

package sqltable_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// openSQLite opens a new SQLite file as the recommended writer pool, and
// returns a function that closes and removes it.
func openSQLite() (*sql.DB, func()) {
	dir, err := os.MkdirTemp("", "sqltable")
	if err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("sqlite3", dialect.SQLiteDSN(filepath.Join(dir, "cache.db")))
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db, func() {
		db.Close()
		os.RemoveAll(dir)
	}
}

// A table of results, written and read by key, and read back with plain SQL
// as any client would.
func Example() {
	db, done := openSQLite()
	defer done()
	ctx := context.Background()

	type result struct {
		Fib   int    `json:"fib"`
		Label string `json:"label"`
	}
	fib, err := sqltable.Open[result](ctx, db, "fib", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer fib.Close()

	key := keymap.NewKey("(n=30)")
	if err := fib.Put(ctx, key, result{Fib: 832040, Label: "<big>"}); err != nil {
		log.Fatal(err)
	}
	v, found, err := fib.Get(ctx, key)
	fmt.Println(v, found, err)

	var text, value string
	err = db.QueryRowContext(ctx, `SELECT key_text, value FROM fib WHERE key_text = '(n=30)'`).Scan(&text, &value)
	fmt.Println(text, value, err)
	// Output:
	// {832040 <big>} true <nil>
	// (n=30) {"fib":832040,"label":"<big>"} <nil>
}

// A memoized function whose results live in a table: a second memo, as in
// another process or after a restart, loads them instead of computing.
// The arguments of each call are stored beside its result.
func Example_memoize() {
	db, done := openSQLite()
	defer done()
	ctx := context.Background()

	type args struct{ A, B int }
	add := func(_ context.Context, a args) (int, error) { return a.A + a.B, nil }
	sums, err := sqltable.Open[int](ctx, db, "sums", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sums.Close()

	for range 2 {
		m, err := cache.Memoize(add, &cache.MemoOptions[int]{Archive: sums})
		if err != nil {
			log.Fatal(err)
		}
		v, err := m.Call(ctx, args{2, 3})
		info := m.Info()
		fmt.Println(v, err, "misses:", info.Misses, "loads:", info.Loads)
	}

	var text, arguments, value string
	err = db.QueryRowContext(ctx, `SELECT key_text, args, value FROM sums`).Scan(&text, &arguments, &value)
	fmt.Println(text, arguments, value, err)
	// Output:
	// 5 <nil> misses: 1 loads: 0
	// 5 <nil> misses: 0 loads: 1
	// (A=2, B=3) {"A":2,"B":3} 5 <nil>
}

// PutMany writes a batch in a few statements; GetMany reads many keys at
// once.
func ExampleTable_PutMany() {
	db, done := openSQLite()
	defer done()
	ctx := context.Background()
	squares, err := sqltable.Open[int](ctx, db, "squares", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer squares.Close()

	var batch []cache.Entry[int]
	for n := range 1000 {
		batch = append(batch, cache.Entry[int]{Key: keymap.NewKey(fmt.Sprintf("(n=%d)", n)), Value: n * n})
	}
	if err := squares.PutMany(ctx, batch); err != nil {
		log.Fatal(err)
	}
	n, err := squares.Len(ctx)
	fmt.Println(n, err)

	seven, twelve := keymap.NewKey("(n=7)"), keymap.NewKey("(n=12)")
	values, err := squares.GetMany(ctx, []keymap.Key{seven, twelve, keymap.NewKey("(n=5000)")})
	fmt.Println(len(values), values[seven.Hash], values[twelve.Hash], err)
	// Output:
	// 1000 <nil>
	// 2 49 144 <nil>
}

// Keys that are not printable text are stored in key_text as base64, and
// come back exactly.
func ExampleTable_Keys() {
	db, done := openSQLite()
	defer done()
	ctx := context.Background()
	blobs, err := sqltable.Open[string](ctx, db, "blobs", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer blobs.Close()

	for _, text := range []string{"plain", "nul\x00byte"} {
		if err := blobs.Put(ctx, keymap.NewKey(text), "v"); err != nil {
			log.Fatal(err)
		}
	}
	for key, err := range blobs.Keys(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%q stored as %q\n", key.Text, sqltable.EncodeKeyText(key.Text))
	}
	// Unordered output:
	// "plain" stored as "plain"
	// "nul\x00byte" stored as "base64:bnVsAGJ5dGU="
}

// A Table bound to a transaction writes with it. A *sql.Tx does not show
// its driver, so the options name the dialect; Open checks it against the
// driver of a *sql.DB or *sql.Conn, and finds it when none is named.
func ExampleOpen_transaction() {
	db, done := openSQLite()
	defer done()
	ctx := context.Background()
	created, err := sqltable.Open[int](ctx, db, "orders", nil) // creates the table
	if err != nil {
		log.Fatal(err)
	}
	defer created.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	_, err = sqltable.Open[int](ctx, tx, "orders", nil)
	fmt.Println(errors.Is(err, dialect.ErrUndetected))
	orders, err := sqltable.Open[int](ctx, tx, "orders", &sqltable.Options{Dialect: dialect.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := orders.Put(ctx, keymap.NewKey("(id=7)"), 3); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}

	_, err = sqltable.Open[int](ctx, db, "orders", &sqltable.Options{Dialect: dialect.Postgres})
	fmt.Println(err)
	// Output:
	// true
	// sqltable orders: open: dialect postgres does not match the database's driver (github.com/mattn/go-sqlite3, dialect sqlite)
}

// Entries expire TTL after they are written. The clock is fixed here; the
// default is time.Now.
func ExampleOptions_ttl() {
	db, done := openSQLite()
	defer done()
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	quotes, err := sqltable.Open[float64](ctx, db, "quotes", &sqltable.Options{
		TTL:   time.Minute,
		Clock: func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer quotes.Close()

	key := keymap.NewKey(`("EURUSD")`)
	if err := quotes.Put(ctx, key, 1.0842); err != nil {
		log.Fatal(err)
	}
	v, found, _ := quotes.Get(ctx, key)
	fmt.Println(v, found)

	now = now.Add(2 * time.Minute)
	v, found, _ = quotes.Get(ctx, key)
	fmt.Println(v, found)
	removed, err := quotes.DeleteExpired(ctx)
	fmt.Println(removed, err)
	// Output:
	// 1.0842 true
	// 0 false
	// 1 <nil>
}

// Counting reads in the rows, without a write per read: the counts are
// added in batches, here by Flush (by default also every 2 s, and on
// Close).
func ExampleAccessLog() {
	db, done := openSQLite()
	defer done()
	ctx := context.Background()

	accessLog, err := sqltable.NewAccessLog(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer accessLog.Close()
	fib, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{AccessLog: accessLog})
	if err != nil {
		log.Fatal(err)
	}
	defer fib.Close()

	key := keymap.NewKey("(n=10)")
	if err := fib.Put(ctx, key, 55); err != nil {
		log.Fatal(err)
	}
	for range 3 {
		if _, _, err := fib.Get(ctx, key); err != nil {
			log.Fatal(err)
		}
	}
	if err := accessLog.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	var hits int
	if err := db.QueryRowContext(ctx, "SELECT hits FROM fib WHERE key_text = '(n=10)'").Scan(&hits); err != nil {
		log.Fatal(err)
	}
	fmt.Println("hits:", hits)
	// Output:
	// hits: 3
}

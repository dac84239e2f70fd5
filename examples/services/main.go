// Command services is a small service that shares a memoized function with
// the other copies of itself through one database. Run two at once: each
// price is computed once, by one of them, while the other waits for it; and
// what one of them forgets, the other forgets too.
//
//	go run ./examples/services -name A -linger 2s &
//	sleep 0.5; go run ./examples/services -name B -forget 3
//	wait
//
// By default they share the SQLite file services.db; -db postgres://… or
// -db mysql:user@tcp(host:3306)/db shares a server instead (on PostgreSQL,
// changes then reach the other service as they commit, through LISTEN).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"
	_ "github.com/mattn/go-sqlite3"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqlarchive/pqlisten"
)

// config is what the command line sets.
type config struct {
	db     string        // sqlite:PATH, postgres://…, or mysql:DSN
	name   string        // the service's name, in what it prints
	keys   int           // prices 1..keys are asked for
	linger time.Duration // how long to wait before asking again
	forget int           // the price to forget after the first pass; 0 for none
	cost   time.Duration // how long computing a price takes
}

func main() {
	var cfg config
	flag.StringVar(&cfg.db, "db", "sqlite:services.db", "the shared database: sqlite:PATH, postgres://… or mysql:USER@tcp(HOST:PORT)/DB")
	flag.StringVar(&cfg.name, "name", "A", "the name of this service")
	flag.IntVar(&cfg.keys, "keys", 5, "ask for the prices of products 1 to N")
	flag.DurationVar(&cfg.linger, "linger", 0, "wait this long, then ask for every price again")
	flag.IntVar(&cfg.forget, "forget", 0, "after asking, forget the price of this product, here and in every service")
	flag.DurationVar(&cfg.cost, "cost", 500*time.Millisecond, "how long computing one price takes")
	flag.Parse()
	if _, err := run(context.Background(), cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// product is the argument of the memoized function: its key is (ID=3).
type product struct {
	ID int
}

// open returns a pool on the database cfg.db names and, on PostgreSQL, a
// listener for its notifications. sqlarchive.Open finds the dialect from
// the driver.
func open(dsn string) (*sql.DB, sqlarchive.Listener, error) {
	var driver string
	var l sqlarchive.Listener
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		driver, l = "postgres", pqlisten.New(dsn)
	case strings.HasPrefix(dsn, "mysql:"):
		driver, dsn = "mysql", strings.TrimPrefix(dsn, "mysql:")
	default:
		driver, dsn = "sqlite3", dialect.SQLiteDSN(strings.TrimPrefix(dsn, "sqlite:"))
	}
	db, err := sql.Open(driver, dsn)
	return db, l, err
}

// run is the service: it asks for the prices of products 1..cfg.keys,
// saying where each came from, forgets one if told to, and after
// cfg.linger asks again. It returns how many prices it computed itself.
func run(ctx context.Context, cfg config, out io.Writer) (computed int64, err error) {
	db, listener, err := open(cfg.db)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	archive, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Listener: listener})
	if err != nil {
		return 0, err
	}
	defer archive.Close()

	var runs atomic.Int64
	price := func(ctx context.Context, p product) (float64, error) {
		runs.Add(1)
		fmt.Fprintf(out, "[%s] computing the price of product %d\n", cfg.name, p.ID)
		select {
		case <-time.After(cfg.cost):
			return float64(p.ID) * 9.99, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	m, err := sqlarchive.Memoize(ctx, archive, "prices", price, nil)
	if err != nil {
		return 0, err
	}

	ask := func() error {
		for id := 1; id <= cfg.keys; id++ {
			before := m.Info()
			v, err := m.Call(ctx, product{ID: id})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "[%s] product %d costs %.2f: %s\n", cfg.name, id, v, source(before, m.Info()))
		}
		return nil
	}
	if err := ask(); err != nil {
		return runs.Load(), err
	}
	if cfg.forget > 0 {
		if err := m.Forget(ctx, product{ID: cfg.forget}); err != nil {
			return runs.Load(), err
		}
		fmt.Fprintf(out, "[%s] forgot the price of product %d, in every service\n", cfg.name, cfg.forget)
	}
	if cfg.linger > 0 {
		time.Sleep(cfg.linger)
		if err := ask(); err != nil {
			return runs.Load(), err
		}
	}
	return runs.Load(), nil
}

// source says where a call got its result, from the memo's counts before
// and after it.
func source(before, after cache.Info) string {
	switch {
	case after.Hits > before.Hits:
		return "from memory"
	case after.Loads > before.Loads:
		return "from the database (another service computed it)"
	}
	return "computed here"
}

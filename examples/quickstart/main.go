// Command quickstart memoizes a slow function into a SQLite file: the second
// call is served from memory, and a second run of the program from the
// database. Read the cached rows with the sqlite3 client:
//
//	go run ./examples/quickstart
//	sqlite3 klepto.db "SELECT key_text, args, value FROM slow_square"
package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/sqlarchive"
)

type args struct {
	N int
}

// slowSquare stands for an expensive computation.
func slowSquare(ctx context.Context, a args) (int, error) {
	select {
	case <-time.After(300 * time.Millisecond):
		return a.N * a.N, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func main() {
	if _, err := run(context.Background(), "klepto.db", os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run memoizes slowSquare into the SQLite file at path, calls it twice and
// returns the memo's accounting.
func run(ctx context.Context, path string, out io.Writer) (cache.Info, error) {
	db, err := sql.Open("sqlite3", dialect.SQLiteDSN(path))
	if err != nil {
		return cache.Info{}, err
	}
	defer db.Close()
	archive, err := sqlarchive.Open(ctx, db, nil)
	if err != nil {
		return cache.Info{}, err
	}
	defer archive.Close()
	m, err := sqlarchive.Memoize(ctx, archive, "slow_square", slowSquare, nil)
	if err != nil {
		return cache.Info{}, err
	}
	for range 2 {
		start := time.Now()
		v, err := m.Call(ctx, args{N: 12})
		if err != nil {
			return cache.Info{}, err
		}
		fmt.Fprintf(out, "slowSquare(N=12) = %d in %v\n", v, time.Since(start).Round(time.Microsecond))
	}
	info := m.Info()
	fmt.Fprintf(out, "%+v\n", info)
	fmt.Fprintf(out, "rows: sqlite3 %s \"SELECT key_text, args, value FROM slow_square\"\n", path)
	return info, nil
}

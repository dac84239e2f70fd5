package sqlarchive_test

import (
	"context"
	"fmt"
	"log"

	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// Reverting klepto's migrations drops the catalog and leaves the archive
// tables; Adopt lists one again, with its entries.
func ExampleAdopt() {
	db, cleanup := openSQLite()
	defer cleanup()
	ctx := context.Background()

	a, err := sqlarchive.Open(ctx, db, nil)
	if err != nil {
		log.Fatal(err)
	}
	fib, err := sqlarchive.Table[int](ctx, a, "fib", nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := fib.Put(ctx, keymap.NewKey("(10)"), 55); err != nil {
		log.Fatal(err)
	}
	if err := a.Close(); err != nil {
		log.Fatal(err)
	}
	if err := migrations.Down(ctx, db, 99, nil); err != nil {
		log.Fatal(err)
	}

	a, err = sqlarchive.Open(ctx, db, nil) // the catalog anew, without fib
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	if _, err := sqlarchive.Table[int](ctx, a, "fib", nil); err != nil {
		fmt.Println("before Adopt: the catalog does not list fib")
	}
	if _, err := sqlarchive.Adopt(ctx, a, "fib", nil); err != nil {
		log.Fatal(err)
	}
	fib, err = sqlarchive.Table[int](ctx, a, "fib", nil)
	if err != nil {
		log.Fatal(err)
	}
	v, ok, err := fib.Get(ctx, keymap.NewKey("(10)"))
	fmt.Println(v, ok, err)
	// Output:
	// before Adopt: the catalog does not list fib
	// 55 true <nil>
}

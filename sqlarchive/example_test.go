package sqlarchive_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// openSQLite opens a new SQLite database in a temporary folder, and returns
// it with a function that removes it.
func openSQLite() (*sql.DB, func()) {
	dir, err := os.MkdirTemp("", "sqlarchive")
	if err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("sqlite3", dialect.SQLiteDSN(filepath.Join(dir, "cache.db")))
	if err != nil {
		log.Fatal(err)
	}
	return db, func() {
		db.Close()
		os.RemoveAll(dir)
	}
}

func ExampleOpen() {
	db, cleanup := openSQLite()
	defer cleanup()
	ctx := context.Background()

	// Open creates the catalog (klepto's migrations) on first use.
	a, err := sqlarchive.Open(ctx, db, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close() // does not close db

	if _, err := sqlarchive.Table[string](ctx, a, "pages", nil); err != nil {
		log.Fatal(err)
	}
	infos, err := a.Tables(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, info := range infos {
		fmt.Println(info.Name, info.Codec, info.Keymap)
	}
	// Output:
	// pages json string
}

func ExampleTable() {
	db, cleanup := openSQLite()
	defer cleanup()
	ctx := context.Background()
	a, err := sqlarchive.Open(ctx, db, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()

	// The first Table creates the archive with its options.
	pages, err := sqlarchive.Table[string](ctx, a, "pages", &sqlarchive.TableOptions{
		Codec: new(codec.Gob),
		TTL:   new(time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	key := keymap.NewKey(`("/index.html")`)
	if err := pages.Put(ctx, key, "<h1>Hello</h1>"); err != nil {
		log.Fatal(err)
	}

	// A reader needs no options: the catalog has them.
	reader, err := sqlarchive.Table[string](ctx, a, "pages", nil)
	if err != nil {
		log.Fatal(err)
	}
	page, found, err := reader.Get(ctx, key)
	fmt.Println(page, found, err)

	// Options that contradict the catalog are refused.
	_, err = sqlarchive.Table[string](ctx, a, "pages", &sqlarchive.TableOptions{Codec: new(codec.JSON)})
	fmt.Println(err)
	// Output:
	// <h1>Hello</h1> true <nil>
	// sqlarchive: table "pages" is stored with codec gob, opened with json
}

func ExampleMemoize() {
	db, cleanup := openSQLite()
	defer cleanup()
	ctx := context.Background()

	type args struct{ N int }
	square := func(_ context.Context, a args) (int, error) { return a.N * a.N, nil }

	// A first process computes, and writes each result through to its table.
	first, err := sqlarchive.Open(ctx, db, nil)
	if err != nil {
		log.Fatal(err)
	}
	m, err := sqlarchive.Memoize(ctx, first, "square", square, &sqlarchive.MemoizeOptions[int]{Version: "v1"})
	if err != nil {
		log.Fatal(err)
	}
	for n := range 3 {
		if _, err := m.Call(ctx, args{n}); err != nil {
			log.Fatal(err)
		}
	}
	first.Close()

	// A second process, or the first after a restart, loads them.
	second, err := sqlarchive.Open(ctx, db, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer second.Close()
	m, err = sqlarchive.Memoize(ctx, second, "square", square, &sqlarchive.MemoizeOptions[int]{Version: "v1"})
	if err != nil {
		log.Fatal(err)
	}
	v, err := m.Call(ctx, args{2})
	fmt.Println(v, err)
	fmt.Printf("%+v\n", m.Info())

	info, err := second.Info(ctx, "square@v1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Name, "is table", info.Table)
	// Output:
	// 4 <nil>
	// {Hits:0 Misses:0 Loads:1 Errors:0 MaxSize:100 Size:1}
	// square@v1 is table square__v1
}

func ExampleArchive_Stats() {
	db, cleanup := openSQLite()
	defer cleanup()
	ctx := context.Background()
	start := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	now := start
	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Clock: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()

	blobs, err := sqlarchive.Table[[]byte](ctx, a, "blobs", &sqlarchive.TableOptions{
		Codec: new(codec.Raw),
		TTL:   new(time.Minute),
	})
	if err != nil {
		log.Fatal(err)
	}
	// One entry a minute; Stats runs at the time of the last one.
	for i, k := range []string{"a", "b", "c"} {
		now = start.Add(time.Duration(i) * time.Minute)
		if err := blobs.Put(ctx, keymap.NewKey(k), []byte("0123456789")); err != nil {
			log.Fatal(err)
		}
	}
	s, err := a.Stats(ctx, "blobs")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d rows, %d expired, %d bytes, written %s to %s\n",
		s.Rows, s.Expired, s.Bytes, s.Oldest.Format(time.Kitchen), s.Newest.Format(time.Kitchen))
	// Output:
	// 3 rows, 2 expired, 30 bytes, written 8:00AM to 8:02AM
}

func ExampleStored() {
	db, cleanup := openSQLite()
	defer cleanup()
	ctx := context.Background()
	a, err := sqlarchive.Open(ctx, db, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()

	type page struct{ Title, Body string }
	pages, err := sqlarchive.Table[page](ctx, a, "pages", nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := pages.Put(ctx, keymap.NewKey("home"), page{"Home", "<p>Hello</p>"}); err != nil {
		log.Fatal(err)
	}

	// A tool that knows nothing of the type page reaches the values as
	// stored: JSON text here, as the catalog's codec says.
	stored, info, err := sqlarchive.Stored(ctx, a, "pages", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer stored.Close()
	v, _, err := stored.Get(ctx, keymap.NewKey("home"))
	fmt.Println(info.Codec, string(v), err)
	if err := stored.Put(ctx, keymap.NewKey("about"), []byte(`{"Title": "About"}`)); err != nil {
		log.Fatal(err)
	}
	about, _, err := pages.Get(ctx, keymap.NewKey("about"))
	fmt.Printf("%+v %v\n", about, err)
	// Output:
	// json {"Title":"Home","Body":"<p>Hello</p>"} <nil>
	// {Title:About Body:} <nil>
}

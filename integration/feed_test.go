package integration

import (
	"database/sql"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqltable"
)

// The change feed stays bounded: after 100,000 changes that record
// themselves (deletes of present keys), klepto_changes holds no more than
// the table's sqltable.Options.FeedWindow (sqlarchive.Options.FeedWindow
// sets it for the tables of an Archive). The test uses sqltable directly,
// whose Table can work inside a transaction: one writer makes the changes,
// in transactions of 10,000 through a Table over each *sql.Tx, which
// records and prunes in its transaction, so that a change costs two
// statements and no commit. The feed holds no more than the window after
// each transaction. With -short, 10,000 changes.
func TestFeedBounded(t *testing.T) {
	const (
		window = 1000
		chunk  = 10_000 // deletes per transaction
	)
	changes := 100_000
	if testing.Short() {
		changes = 10_000
	}
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			t.Parallel() // the databases take turns otherwise, for no reason
			db := sqltest.Fresh(t, d)
			ctx := t.Context()
			if err := migrations.Up(ctx, db.DB, &migrations.Options{Dialect: d}); err != nil {
				t.Fatal(err)
			}
			opts := &sqltable.Options{Dialect: d, FeedWindow: window}
			// The table is made outside the transaction: on MySQL, DDL
			// commits.
			table, err := sqltable.Open[int](ctx, db.DB, "bounded", opts)
			if err != nil {
				t.Fatal(err)
			}
			defer table.Close()
			km, err := keymap.NewString(nil)
			if err != nil {
				t.Fatal(err)
			}
			keys := make([]keymap.Key, changes)
			for i := range keys {
				if keys[i], err = km.Key(i); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			// New keys record nothing.
			const batch = 1000
			for i := 0; i < changes; i += batch {
				entries := make([]cache.Entry[int], 0, batch)
				for _, k := range keys[i:min(i+batch, changes)] {
					entries = append(entries, cache.Entry[int]{Key: k, Value: 1})
				}
				if err := table.PutMany(ctx, entries); err != nil {
					t.Fatal(err)
				}
			}
			if n := countRows(t, db, migrations.ChangesTable); n != 0 {
				t.Fatalf("inserting new keys recorded %d changes, want none", n)
			}
			filled := time.Since(start)

			// The deletes, a transaction of chunk deletes after another:
			// the feed holds no more than the window after each.
			start = time.Now()
			pool := fastPool(t, db)
			most := int64(0)
			for i := 0; i < changes; i += chunk {
				tx, err := pool.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				inTx, err := sqltable.Open[int](ctx, tx, "bounded", opts)
				if err != nil {
					t.Fatal(errors.Join(err, tx.Rollback()))
				}
				for _, k := range keys[i:min(i+chunk, changes)] {
					if err := inTx.Delete(ctx, k); err != nil {
						t.Fatal(errors.Join(err, tx.Rollback()))
					}
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				n := countRows(t, db, migrations.ChangesTable)
				most = max(most, n)
				if n > window {
					t.Errorf("after %d changes, the feed holds %d, over the window of %d", i+chunk, n, window)
				}
			}
			changed := time.Since(start)

			var rows, first, last int64
			c := d.QuoteIdent
			q := "SELECT COUNT(*), COALESCE(MIN(" + c("id") + "), 0), COALESCE(MAX(" + c("id") + "), 0) FROM " + c(migrations.ChangesTable)
			if err := db.DB.QueryRowContext(ctx, q).Scan(&rows, &first, &last); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d new keys in %v, then %d deletes in transactions of %d in %v: the feed holds %d changes (ids %d to %d; at most %d after a transaction), window %d",
				d.Name(), changes, filled.Round(time.Millisecond), changes, chunk, changed.Round(time.Millisecond), rows, first, last, most, window)
			if rows > window || rows == 0 {
				t.Errorf("the feed holds %d changes after %d, want 1 to %d", rows, changes, window)
			}
			if n, err := table.Len(ctx); err != nil || n != 0 {
				t.Errorf("the table holds %d entries (%v), want 0", n, err)
			}
		})
	}
}

// fastPool returns a pool on db whose statements take one round trip each:
// go-sql-driver/mysql interpolates the arguments of unprepared statements
// (interpolateParams=true), and lib/pq sends them with the statement
// (binary_parameters=yes), instead of preparing each statement first.
func fastPool(t *testing.T, db sqltest.Database) *sql.DB {
	t.Helper()
	dsn := db.DSN
	switch db.Dialect {
	case dialect.MySQL:
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.InterpolateParams = true
		dsn = cfg.FormatDSN()
	case dialect.Postgres:
		u, err := url.Parse(dsn)
		if err != nil {
			return db.DB
		}
		q := u.Query()
		q.Set("binary_parameters", "yes")
		u.RawQuery = q.Encode()
		dsn = u.String()
	default:
		return db.DB
	}
	pool, err := sql.Open(db.Driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

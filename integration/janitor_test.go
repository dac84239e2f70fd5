package integration

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// janitorConfig is the configuration of the janitor program, runJanitor.
type janitorConfig struct {
	Mode    string `json:"mode"` // "janitor"
	Driver  string `json:"driver"`
	DSN     string `json:"dsn"`
	Dialect string `json:"dialect"`
	Table   string `json:"table"`
	Rows    int    `json:"rows"` // the program ends once Table holds this many rows
}

// runJanitor is the janitor program: it opens the Archive of the database
// with a janitor, waits until the table holds cfg.Rows rows, closes the
// Archive and prints its sqlarchive.JanitorInfo as JSON.
func runJanitor() error {
	var cfg janitorConfig
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &cfg); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open(cfg.Driver, cfg.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := dialect.Lookup(cfg.Dialect)
	if err != nil {
		return err
	}
	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: d, ExpireInterval: 5 * time.Millisecond, ExpireBatch: 10})
	if err != nil {
		return err
	}
	defer a.Close()
	for {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+d.QuoteIdent(cfg.Table)).Scan(&n); err != nil {
			return err
		}
		if n == cfg.Rows {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the table still holds %d rows, want %d: %w", n, cfg.Rows, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := a.Close(); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(a.JanitorInfo())
}

// Entries with a TTL of one second disappear from the table once expired,
// with nobody purging them: the janitors of three processes delete them
// at once, without errors, and leave the entries that do not expire.
func TestJanitorProcesses(t *testing.T) {
	const expiring, kept = 200, 10
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			ctx := t.Context()
			db := sqltest.Fresh(t, d)
			a, err := sqlarchive.Open(ctx, db.DB, &sqlarchive.Options{Dialect: d})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			memo, err := sqlarchive.Table[int](ctx, a, "memo", &sqlarchive.TableOptions{TTL: new(time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			forever, err := sqltable.Open[int](ctx, db.DB, "memo", &sqltable.Options{Dialect: d})
			if err != nil {
				t.Fatal(err)
			}
			defer forever.Close()
			entries := make([]cache.Entry[int], expiring)
			for i := range entries {
				entries[i] = cache.Entry[int]{Key: keymap.NewKey("expiring" + strconv.Itoa(i)), Value: i}
			}
			if err := memo.PutMany(ctx, entries); err != nil {
				t.Fatal(err)
			}
			for i := range kept {
				if err := forever.Put(ctx, keymap.NewKey("kept"+strconv.Itoa(i)), i); err != nil {
					t.Fatal(err)
				}
			}
			cfg := janitorConfig{Mode: "janitor", Driver: db.Driver, DSN: db.DSN, Dialect: d.Name(), Table: "memo", Rows: kept}
			var children []*child
			for range 3 {
				children = append(children, startChild(t, cfg))
			}
			var deleted uint64
			for _, c := range children {
				var info sqlarchive.JanitorInfo
				if err := json.Unmarshal([]byte(c.readLine(t)), &info); err != nil {
					t.Fatal(err)
				}
				t.Logf("child %d: %+v", c.cmd.Process.Pid, info)
				if info.Errors != 0 {
					t.Errorf("child %d: %d failed rounds", c.cmd.Process.Pid, info.Errors)
				}
				deleted += info.Deleted
			}
			if deleted != expiring {
				t.Errorf("the janitors deleted %d entries, want %d", deleted, expiring)
			}
			for i := range kept {
				if _, found, err := forever.Get(ctx, keymap.NewKey("kept"+strconv.Itoa(i))); err != nil || !found {
					t.Errorf("Get(kept%d) = %v, %v after the janitors ran; want found", i, found, err)
				}
			}
		})
	}
}

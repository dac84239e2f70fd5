package sqlarchive_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// storedKeys returns the key_text of every row of the table of the
// archive called name, expired or not, sorted.
func storedKeys(t *testing.T, db *sql.DB, a *sqlarchive.Archive, name string) []string {
	t.Helper()
	info, err := a.Info(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(t.Context(), "SELECT key_text FROM "+a.Dialect().QuoteIdent(info.Table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// putKeys writes the keys prefix0 … prefix<n-1>.
func putKeys(t *testing.T, a *sqlarchive.Archive, name, prefix string, n int) {
	t.Helper()
	tbl := table[int](t, a, name, &sqlarchive.TableOptions{TTL: new(time.Second)})
	for i := range n {
		put(t, tbl, fmt.Sprintf("%s%02d", prefix, i), i)
	}
}

// keyNames returns prefix0 … prefix<n-1>, as putKeys writes them.
func keyNames(prefix string, n int) []string {
	var keys []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("%s%02d", prefix, i))
	}
	return keys
}

// waitFor waits until cond holds, for at most 30 s: the janitor works in
// the background, at its interval.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Expired entries disappear from the table without anyone purging them,
// and entries that have not expired stay.
func TestJanitorDeletesExpired(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		clk := newClock()
		a := open(t, db, d, &sqlarchive.Options{Clock: clk.Now, ExpireInterval: 10 * time.Millisecond})
		if !a.JanitorInfo().Running {
			t.Fatal("JanitorInfo().Running = false with an ExpireInterval")
		}
		putKeys(t, a, "memo", "old", 10)
		clk.Advance(2 * time.Second) // old* expire
		putKeys(t, a, "memo", "new", 5)
		want := keyNames("new", 5)
		waitFor(t, "the janitor to delete the expired entries", func() bool {
			return slices.Equal(storedKeys(t, db, a, "memo"), want)
		})
		// Rounds after that leave the live entries alone.
		rounds := a.JanitorInfo().Rounds
		waitFor(t, "two more rounds", func() bool { return a.JanitorInfo().Rounds >= rounds+2 })
		if got := storedKeys(t, db, a, "memo"); !slices.Equal(got, want) {
			t.Errorf("stored keys = %q, want %q", got, want)
		}
		if info := a.JanitorInfo(); info.Deleted != 10 || info.Errors != 0 {
			t.Errorf("JanitorInfo = %+v, want 10 deleted and no errors", info)
		}
	})
}

// Without an ExpireInterval there is no janitor, and Close stops one.
func TestJanitorOffByDefaultAndClose(t *testing.T) {
	db := sqltest.SQLite(t)
	clk := newClock()
	a := open(t, db, dialect.SQLite, clk.options())
	if info := a.JanitorInfo(); info.Running {
		t.Errorf("JanitorInfo without ExpireInterval = %+v, want not running", info)
	}
	b, err := sqlarchive.Open(t.Context(), db, &sqlarchive.Options{Clock: clk.Now, ExpireInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if info := b.JanitorInfo(); info.Running {
		t.Errorf("JanitorInfo after Close = %+v, want not running", info)
	}
	if _, err := b.DeleteExpired(t.Context(), 10); !errors.Is(err, sqlarchive.ErrClosed) {
		t.Errorf("DeleteExpired after Close = %v, want ErrClosed", err)
	}
	if _, err := a.DeleteExpired(t.Context(), 0); !errors.Is(err, sqlarchive.ErrInvalidOptions) {
		t.Errorf("DeleteExpired(0) = %v, want ErrInvalidOptions", err)
	}
	for _, o := range []sqlarchive.Options{{ExpireInterval: -time.Second}, {ExpireBatch: -1}} {
		if _, err := sqlarchive.Open(t.Context(), db, &o); !errors.Is(err, sqlarchive.ErrInvalidOptions) {
			t.Errorf("Open(%+v) = %v, want ErrInvalidOptions", o, err)
		}
	}
}

// A round deletes at most its limit, and the next round starts with the
// archive after the one where the last stopped, so that every archive gets
// its turn.
func TestDeleteExpiredBoundedPerRound(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		clk := newClock()
		a := open(t, db, d, clk.options())
		putKeys(t, a, "a", "k", 7)
		putKeys(t, a, "b", "k", 7)
		putKeys(t, a, "c", "k", 0)
		clk.Advance(2 * time.Second)
		changes := func() int {
			var n int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+migrations.ChangesTable).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		changesBefore := changes()
		remaining := func() []int {
			return []int{len(storedKeys(t, db, a, "a")), len(storedKeys(t, db, a, "b"))}
		}
		for i, want := range []struct {
			deleted   int
			remaining []int
		}{
			{5, []int{2, 7}}, // a: 5
			{5, []int{2, 2}}, // b, a's turn is over: 5
			{4, []int{0, 0}}, // c, then a and b: 2 + 2
			{0, []int{0, 0}},
		} {
			n, err := a.DeleteExpired(ctx, 5)
			if err != nil {
				t.Fatal(err)
			}
			if got := remaining(); n != want.deleted || !slices.Equal(got, want.remaining) {
				t.Errorf("round %d deleted %d, left %v; want %d, %v", i+1, n, got, want.deleted, want.remaining)
			}
		}
		if info := a.JanitorInfo(); info != (sqlarchive.JanitorInfo{Rounds: 4, Deleted: 14}) {
			t.Errorf("JanitorInfo = %+v, want 4 rounds, 14 deleted", info)
		}
		// Memories expire entries by themselves: the feed has nothing to
		// tell them.
		if n := changes(); n != changesBefore {
			t.Errorf("the change feed went from %d changes to %d", changesBefore, n)
		}
	})
}

// A round deletes the entries of a table that expired first.
func TestDeleteExpiredEarliestFirst(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		clk := newClock()
		a := open(t, db, d, clk.options())
		tbl := table[int](t, a, "memo", &sqlarchive.TableOptions{TTL: new(time.Second)})
		for _, k := range []string{"c", "a", "e", "b", "d"} { // written, so expiring, in this order
			put(t, tbl, k, 0)
			clk.Advance(time.Second)
		}
		clk.Advance(time.Minute)
		if n, err := a.DeleteExpired(t.Context(), 2); err != nil || n != 2 {
			t.Fatalf("DeleteExpired = %d, %v; want 2", n, err)
		}
		if got, want := storedKeys(t, db, a, "memo"), []string{"b", "d", "e"}; !slices.Equal(got, want) {
			t.Errorf("stored keys = %q, want %q", got, want)
		}
	})
}

// An entry is deleted only once it has expired by both the Archive's clock,
// which reads check, and the database's: a process whose clock runs ahead
// deletes nothing that the database's clock says is live.
func TestDeleteExpiredNeedsBothClocks(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		clk := newClock() // t0, in the past of the database's clock
		a := open(t, db, d, clk.options())
		putKeys(t, a, "past", "k", 3) // expired by the database's clock only
		if n, err := a.DeleteExpired(ctx, 100); err != nil || n != 0 {
			t.Errorf("DeleteExpired of entries live by the Archive's clock = %d, %v; want 0", n, err)
		}

		future := newClock()
		future.Advance(time.Since(t0) + 365*24*time.Hour) // a year ahead of the database
		b := open(t, db, d, future.options())
		putKeys(t, b, "future", "k", 3)
		future.Advance(2 * time.Second) // expired by b's clock only
		if n, err := b.DeleteExpired(ctx, 100); err != nil || n != 3 {
			// b deletes the past entries, now expired by both clocks, and
			// none of its own.
			t.Errorf("DeleteExpired = %d, %v; want the 3 past entries", n, err)
		}
		if got := storedKeys(t, db, b, "future"); len(got) != 3 {
			t.Errorf("future entries after DeleteExpired = %q, want all 3", got)
		}
	})
}

// On PostgreSQL a round passes over an expired row that another
// transaction holds, rather than wait for it, and deletes it in a later
// round.
func TestDeleteExpiredSkipsLockedRows(t *testing.T) {
	db := sqltest.Postgres(t)
	ctx := t.Context()
	clk := newClock()
	a := open(t, db, dialect.Postgres, clk.options())
	putKeys(t, a, "memo", "old", 10)
	clk.Advance(2 * time.Second)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE memo SET hits = hits + 1 WHERE key_text = 'old00'"); err != nil {
		t.Fatal(err)
	}
	round, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if n, err := a.DeleteExpired(round, 100); err != nil || n != 9 {
		t.Errorf("DeleteExpired while a row is locked = %d, %v; want 9, nil", n, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n, err := a.DeleteExpired(ctx, 100); err != nil || n != 1 {
		t.Errorf("DeleteExpired after the lock = %d, %v; want 1, nil", n, err)
	}
}

// Janitors of several Archives, on pools of their own as in several
// processes, and rounds of DeleteExpired, delete the same expired entries
// at once without errors, and leave the live ones.
func TestJanitorsAtOnce(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			fresh := sqltest.Fresh(t, d)
			clk := newClock()
			setup := open(t, fresh.DB, d, clk.options())
			putKeys(t, setup, "memo", "old", 60)
			putKeys(t, setup, "other", "old", 60)
			clk.Advance(2 * time.Second)
			putKeys(t, setup, "memo", "new", 5)

			var archives []*sqlarchive.Archive
			for range 3 {
				db, err := sql.Open(fresh.Driver, fresh.DSN)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				archives = append(archives, open(t, db, d, &sqlarchive.Options{
					Clock: clk.Now, ExpireInterval: time.Millisecond, ExpireBatch: 7,
				}))
			}
			var wg sync.WaitGroup
			errs := make(chan error, len(archives))
			for _, a := range archives {
				wg.Go(func() {
					for {
						n, err := a.DeleteExpired(t.Context(), 3)
						if err != nil || n == 0 {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("DeleteExpired: %v", err)
				}
			}
			waitFor(t, "the expired entries to go", func() bool {
				return len(storedKeys(t, fresh.DB, setup, "memo")) == 5 && len(storedKeys(t, fresh.DB, setup, "other")) == 0
			})
			if got, want := storedKeys(t, fresh.DB, setup, "memo"), keyNames("new", 5); !slices.Equal(got, want) {
				t.Errorf("stored keys = %q, want %q", got, want)
			}
			var deleted uint64
			for _, a := range archives {
				info := a.JanitorInfo()
				if info.Errors != 0 {
					t.Errorf("JanitorInfo = %+v, want no errors", info)
				}
				deleted += info.Deleted
			}
			if deleted != 120 {
				t.Errorf("the Archives deleted %d entries in all, want 120", deleted)
			}
		})
	}
}

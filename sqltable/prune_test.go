package sqltable_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqltable"
)

// The prune of the change feed that follows a write runs within the
// write's context: after the deadline of a write that committed, it is
// left to the next write, rather than run without a deadline.
func TestPruneWithinDeadline(t *testing.T) {
	ctx := t.Context()
	var slowCommit, pruned atomic.Bool
	const deadline = 100 * time.Millisecond
	db := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
		switch {
		case op == sqltest.OpCommit && slowCommit.Load():
			time.Sleep(3 * deadline) // the write's deadline passes as it commits
		case op == sqltest.OpExec && strings.HasPrefix(query, "DELETE FROM") && strings.Contains(query, "klepto_changes"):
			pruned.Store(true)
		}
		return nil
	})
	if err := migrations.Up(ctx, db, &migrations.Options{Dialect: dialect.SQLite}); err != nil {
		t.Fatal(err)
	}
	const window = 256
	tbl, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: dialect.SQLite, FeedWindow: window, RequireFeed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	key := keymap.NewKey("k")
	// The first write inserts; each next one records a change, and the
	// window-th change is pruned after.
	for i := range window {
		if err := tbl.Put(ctx, key, i); err != nil {
			t.Fatal(err)
		}
	}
	if pruned.Load() {
		t.Fatal("pruned before the change feed filled its window")
	}
	slowCommit.Store(true)
	wctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	err = tbl.Put(wctx, key, window)
	slowCommit.Store(false)
	// go-sqlite3 commits a transaction whose context ends during COMMIT;
	// modernc.org/sqlite refuses to, rolls back and reports the context's
	// error. Either way no prune may run after the deadline.
	if err != nil && !(sqltest.SQLiteDriver(t) == "sqlite" && errors.Is(err, context.DeadlineExceeded)) {
		t.Fatalf("put: %v", err)
	}
	if pruned.Load() {
		t.Error("the prune ran after the deadline of its write")
	}
	if err := tbl.Put(ctx, key, window+1); err != nil {
		t.Fatal(err)
	}
	if got, _, err := tbl.Get(ctx, key); err != nil || got != window+1 {
		t.Fatalf("get = %d, %v", got, err)
	}
}

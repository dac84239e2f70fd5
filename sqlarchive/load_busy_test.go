package sqlarchive_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"

	"github.com/mattn/go-sqlite3"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// Load waits for another connection's write lock on SQLite, beyond
// busy_timeout, when it begins its transactions.
func TestLoadWaitsForSQLiteLock(t *testing.T) {
	ctx := t.Context()
	var begins atomic.Int64
	var armed atomic.Bool
	db := sqltest.Faulty(t, func(op sqltest.Op, _ string) error {
		// Each transaction finds the database busy at its first try.
		if op == sqltest.OpBegin && armed.Load() && begins.Add(1)%2 == 1 {
			return sqlite3.Error{Code: sqlite3.ErrBusy}
		}
		return nil
	})
	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: dialect.SQLite})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sq, err := sqlarchive.Memoize(ctx, a, "sq", func(_ context.Context, n int) (int, error) { return n * n, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sq.Call(ctx, 3); err != nil {
		t.Fatal(err)
	}
	var dump bytes.Buffer
	if _, err := sqlarchive.Dump(ctx, a, "sq", &dump, nil); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	n, err := sqlarchive.Load(ctx, a, "sq", &dump, nil)
	armed.Store(false)
	if err != nil || n != 1 {
		t.Fatalf("Load = %d, %v; want 1 entry loaded", n, err)
	}
	if got := begins.Load(); got < 2 {
		t.Errorf("Load began %d transactions, want a busy one and its retry at least", got)
	}
}

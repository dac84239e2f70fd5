package sqltable_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
)

// checkKeyError checks that err, about key, is short but names the key by
// the start of its text and of its hash.
func checkKeyError(t *testing.T, op string, err error, key keymap.Key) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want an error", op)
	}
	msg := err.Error()
	if len(msg) >= 1024 {
		t.Fatalf("%s: error of %d bytes for a key of %d bytes: %.300s…", op, len(msg), len(key.Text), msg)
	}
	if !strings.Contains(msg, strings.Trim(strconv.Quote(key.Text[:32]), `"`)) || !strings.Contains(msg, hex.EncodeToString(key.Hash[:8])) {
		t.Fatalf("%s: %s; want the start of the key and of its hash %x", op, msg, key.Hash[:8])
	}
}

// A 16 MB key makes errors under 1 KB that still name the key, in the
// Table's errors and in those of a memo over the Table.
func TestHugeKeyErrors(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		tbl := open[int](t, db, d, nil)
		arg := strings.Repeat("a", 16<<20)
		key := keymap.NewKey("(" + arg + ")")
		canceled, cancel := context.WithCancel(t.Context())
		cancel()
		_, _, err := tbl.Get(canceled, key)
		checkKeyError(t, "Get", err, key)
		checkKeyError(t, "Put", tbl.Put(canceled, key, 1), key)
		checkKeyError(t, "Delete", tbl.Delete(canceled, key), key)

		m, err := cache.Memoize(func(context.Context, string) (int, error) { return 1, nil },
			&cache.MemoOptions[int]{Archive: tbl})
		if err != nil {
			t.Fatal(err)
		}
		mkey, err := m.Key(arg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Call(canceled, arg)
		checkKeyError(t, "Memo.Call", err, mkey)
	})
}

// The same when the database itself fails the statement.
func TestHugeKeyDriverErrors(t *testing.T) {
	down := errors.New("disk I/O error")
	var failing atomic.Bool
	db := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
		if failing.Load() && (op == sqltest.OpExec || op == sqltest.OpQuery) {
			return down
		}
		return nil
	})
	db.SetMaxOpenConns(1)
	tbl := open[int](t, db, dialect.SQLite, nil)
	failing.Store(true)
	key := keymap.NewKey(strings.Repeat("b", 16<<20))
	_, _, err := tbl.Get(t.Context(), key)
	checkKeyError(t, "Get", err, key)
	err = tbl.Put(t.Context(), key, 1)
	if !errors.Is(err, down) {
		t.Fatalf("Put: %v, want the driver's error", err)
	}
	checkKeyError(t, "Put", err, key)
}

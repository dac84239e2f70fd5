package sqlarchive_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// An Archive opened with Options.ReadDB on a hot standby whose replay is
// paused, so that the standby has none of klepto's tables: Memoize works,
// a result is computed once by two Archives, the catalog, Stats and Dump
// read the primary; once replay resumes, the follower, which reads the
// feed from the standby, passes on another Archive's change.
func TestReadDBReplica(t *testing.T) {
	r := sqltest.PostgresReplica(t)
	ctx := t.Context()
	resume := r.PauseReplay(t)
	a := open(t, r.Primary.DB, dialect.Postgres, &sqlarchive.Options{ReadDB: r.Replica.DB})
	b := open(t, r.Primary.DB, dialect.Postgres, &sqlarchive.Options{ReadDB: r.Replica.DB})
	var runs atomic.Int64
	sq := func(_ context.Context, n int) (int, error) { runs.Add(1); return n * n, nil }
	ma, err := sqlarchive.Memoize(ctx, a, "sq", sq, nil)
	if err != nil {
		t.Fatalf("Memoize with the standby lacking klepto's tables: %v", err)
	}
	mb, err := sqlarchive.Memoize(ctx, b, "sq", sq, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name string
		call func(context.Context, int) (int, error)
	}{{"a", ma.Call}, {"b", mb.Call}} {
		if v, err := m.call(ctx, 3); err != nil || v != 9 {
			t.Fatalf("%s: Call(3) = %d, %v; want 9", m.name, v, err)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the function ran %d times for two Archives; want once, the second read from the primary", n)
	}
	if infos, err := a.Tables(ctx); err != nil || len(infos) != 1 || infos[0].Name != "sq" {
		t.Errorf("Tables = %v, %v; want sq, from the primary's catalog", infos, err)
	}
	if s, err := a.Stats(ctx, "sq"); err != nil || s.Rows != 1 {
		t.Errorf("Stats = %+v, %v; want 1 row, from the primary", s, err)
	}
	var dump bytes.Buffer
	if res, err := sqlarchive.Dump(ctx, a, "sq", &dump, nil); err != nil || res.Entries != 1 {
		t.Errorf("Dump = %+v, %v; want 1 entry, from the primary", res, err)
	}

	resume()
	r.WaitReplay(t)
	key, err := ma.Key(3)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := sqlarchive.Table[int](ctx, b, "sq", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Put(ctx, key, -1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, found, _ := ma.Lookup(3); !found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a change made by b has not reached a's memory after a minute: %+v", a.FollowInfo())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if v, err := ma.Call(ctx, 3); err != nil || v != -1 {
		t.Errorf("a: Call(3) = %d, %v after b's Put; want -1", v, err)
	}
}

// An Archive whose ReadDB is the read-only pool of its SQLite file, a
// replica without lag: two Archives compute a result once, and a change
// made through one reaches the other's memory through the feed read on the
// reader pool.
func TestReadDBSQLiteReader(t *testing.T) {
	writer, reader := sqltest.SQLitePools(t)
	ctx := t.Context()
	a := open(t, writer, dialect.SQLite, &sqlarchive.Options{ReadDB: reader, PollInterval: 10 * time.Millisecond})
	b := open(t, writer, dialect.SQLite, &sqlarchive.Options{ReadDB: reader})
	var runs atomic.Int64
	sq := func(_ context.Context, n int) (int, error) { runs.Add(1); return n * n, nil }
	ma, err := sqlarchive.Memoize(ctx, a, "sq", sq, nil)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := sqlarchive.Memoize(ctx, b, "sq", sq, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []func(context.Context, int) (int, error){ma.Call, mb.Call} {
		if v, err := call(ctx, 4); err != nil || v != 16 {
			t.Fatalf("Call(4) = %d, %v; want 16", v, err)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the function ran %d times; want once", n)
	}
	if err := mb.Forget(ctx, 4); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, found, _ := ma.Lookup(4); !found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b's Forget has not reached a's memory after a minute: %+v", a.FollowInfo())
		}
		time.Sleep(time.Millisecond)
	}
}

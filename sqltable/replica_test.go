package sqltable_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// readDBChecks checks a Table whose ReadDB lags its primary: replica holds
// "k1" = "old" and nothing else, while the primary holds "k1" = "new" and
// "k2" = "v2". stale is the value a lagging replica serves for "k1".
func readDBChecks(t *testing.T, tbl *sqltable.Table[string], stale string, replicaKeys []string) {
	t.Helper()
	ctx := t.Context()
	k1, k2, k3 := keymap.NewKey("k1"), keymap.NewKey("k2"), keymap.NewKey("k3")
	// A key the replica has is read from it.
	if v, found, err := tbl.Get(ctx, k1); err != nil || !found || v != stale {
		t.Errorf("Get(k1) = %q, %v, %v; want the replica's %q", v, found, err, stale)
	}
	// A key it lacks is read from the primary: never a miss caused by lag.
	if v, found, err := tbl.Get(ctx, k2); err != nil || !found || v != "v2" {
		t.Errorf("Get(k2) = %q, %v, %v; want the primary's v2", v, found, err)
	}
	if v, _, found, err := tbl.GetExpiry(ctx, k2); err != nil || !found || v != "v2" {
		t.Errorf("GetExpiry(k2) = %q, %v, %v; want the primary's v2", v, found, err)
	}
	if found, err := tbl.Has(ctx, k2); err != nil || !found {
		t.Errorf("Has(k2) = %v, %v; want true, from the primary", found, err)
	}
	// A key neither has is a miss.
	if _, found, err := tbl.Get(ctx, k3); err != nil || found {
		t.Errorf("Get(k3) = %v, %v; want a miss", found, err)
	}
	if found, err := tbl.Has(ctx, k3); err != nil || found {
		t.Errorf("Has(k3) = %v, %v; want false", found, err)
	}
	got, err := tbl.GetMany(ctx, []keymap.Key{k1, k2, k3})
	want := map[[32]byte]string{k1.Hash: stale, k2.Hash: "v2"}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("GetMany(k1, k2, k3) = %v, %v; want %v", got, err, want)
	}
	// Whole-table reads read the replica only.
	if n, err := tbl.Len(ctx); err != nil || n != len(replicaKeys) {
		t.Errorf("Len = %d, %v; want the replica's %d", n, err, len(replicaKeys))
	}
	var keys []string
	for k, err := range tbl.Keys(ctx) {
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		keys = append(keys, k.Text)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, replicaKeys) {
		t.Errorf("Keys = %q; want the replica's %q", keys, replicaKeys)
	}
	var all, rows []string
	for e, err := range tbl.All(ctx) {
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		all = append(all, e.Key.Text+"="+e.Value)
	}
	for r, err := range tbl.Rows(ctx) {
		if err != nil {
			t.Fatalf("Rows: %v", err)
		}
		rows = append(rows, r.Key.Text+"="+r.Value)
	}
	slices.Sort(all)
	slices.Sort(rows)
	if len(all) != len(replicaKeys) || all[0] != "k1="+stale || !slices.Equal(all, rows) {
		t.Errorf("All = %q, Rows = %q; want the replica's %d entries, k1=%s first", all, rows, len(replicaKeys), stale)
	}
	dst, err := sqltable.Open[string](ctx, sqltest.SQLite(t), "copy", &sqltable.Options{Dialect: dialect.SQLite})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dst.Close() })
	if n, err := tbl.CopyTo(ctx, dst, nil); err != nil || n != len(replicaKeys) {
		t.Errorf("CopyTo = %d, %v; want the replica's %d entries", n, err, len(replicaKeys))
	}
}

// TestReadDB reads through Options.ReadDB from a second SQLite database
// standing for a replica that lags: it holds an older state of the table.
func TestReadDB(t *testing.T) {
	ctx := t.Context()
	primary, replica := sqltest.SQLite(t), sqltest.SQLite(t)
	stale := open[string](t, replica, dialect.SQLite, nil)
	if err := stale.Put(ctx, keymap.NewKey("k1"), "old"); err != nil {
		t.Fatal(err)
	}
	tbl, err := sqltable.Open[string](ctx, primary, stale.Name(), &sqltable.Options{Dialect: dialect.SQLite, ReadDB: replica})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tbl.Close() })
	// Writes go to the primary only.
	for k, v := range map[string]string{"k1": "new", "k2": "v2"} {
		if err := tbl.Put(ctx, keymap.NewKey(k), v); err != nil {
			t.Fatal(err)
		}
	}
	if v, _, err := stale.Get(ctx, keymap.NewKey("k2")); err != nil || v != "" {
		t.Fatalf("the replica has k2 = %q, %v; want nothing written to it", v, err)
	}
	readDBChecks(t, tbl, "old", []string{"k1"})
	// Pop reads and deletes on the primary.
	if v, found, err := tbl.Pop(ctx, keymap.NewKey("k2")); err != nil || !found || v != "v2" {
		t.Fatalf("Pop(k2) = %q, %v, %v; want the primary's v2", v, found, err)
	}
	if err := tbl.Put(ctx, keymap.NewKey("k2"), "v2"); err != nil {
		t.Fatal(err)
	}

	t.Run("replica without the table", func(t *testing.T) {
		// A replica yet to replay the table's creation: reads go to the
		// primary, whole-table reads too.
		empty := sqltest.SQLite(t)
		tbl, err := sqltable.Open[string](ctx, primary, stale.Name(), &sqltable.Options{Dialect: dialect.SQLite, ReadDB: empty})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tbl.Close() })
		readDBChecks(t, tbl, "new", []string{"k1", "k2"})
	})

	t.Run("replica down", func(t *testing.T) {
		// A replica that fails fails the reads: they do not go to the
		// primary instead.
		down := sqltest.SQLite(t)
		tbl, err := sqltable.Open[string](ctx, primary, stale.Name(), &sqltable.Options{Dialect: dialect.SQLite, ReadDB: down, Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tbl.Close() })
		if err := down.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tbl.Get(ctx, keymap.NewKey("k2")); err == nil {
			t.Error("Get with the replica closed: no error")
		}
		if _, err := tbl.Len(ctx); err == nil {
			t.Error("Len with the replica closed: no error")
		}
	})

	t.Run("transaction", func(t *testing.T) {
		tx, err := primary.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		_, err = sqltable.Open[string](ctx, tx, stale.Name(), &sqltable.Options{Dialect: dialect.SQLite, ReadDB: replica})
		if !errors.Is(err, sqltable.ErrInvalidOptions) {
			t.Fatalf("Open over a transaction with ReadDB: %v; want ErrInvalidOptions", err)
		}
	})
}

// TestReadDBPostgresReplica reads from a real hot standby: what the primary
// commits is read from the standby once replayed; while replay is paused,
// the standby's older value is served for a key it has, and a key it lacks
// is read from the primary.
func TestReadDBPostgresReplica(t *testing.T) {
	r := sqltest.PostgresReplica(t)
	ctx := t.Context()
	name := newName()
	tbl, err := sqltable.Open[string](ctx, r.Primary.DB, name, &sqltable.Options{Dialect: dialect.Postgres, ReadDB: r.Replica.DB})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tbl.Close() })
	k1 := keymap.NewKey("k1")
	if err := tbl.Put(ctx, k1, "old"); err != nil {
		t.Fatal(err)
	}
	r.WaitReplay(t)
	onReplica, err := sqltable.Open[string](context.Background(), r.Replica.DB, name, &sqltable.Options{Dialect: dialect.Postgres, Retries: -1})
	if err != nil {
		t.Fatalf("open the replicated table on the standby: %v", err)
	}
	t.Cleanup(func() { _ = onReplica.Close() })
	if v, found, err := onReplica.Get(ctx, k1); err != nil || !found || v != "old" {
		t.Fatalf("the standby has k1 = %q, %v, %v; want old, replicated", v, found, err)
	}

	resume := r.PauseReplay(t)
	if err := tbl.Put(ctx, k1, "new"); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Put(ctx, keymap.NewKey("k2"), "v2"); err != nil {
		t.Fatal(err)
	}
	readDBChecks(t, tbl, "old", []string{"k1"})

	resume()
	r.WaitReplay(t)
	readDBChecks(t, tbl, "new", []string{"k1", "k2"})
}

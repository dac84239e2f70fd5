package sqltable_test

import (
	"database/sql"
	"errors"
	"sync"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// observed collects the events of an Observer.
type observed struct {
	mu  sync.Mutex
	evs []cache.Event
}

func (o *observed) Observe(e cache.Event) {
	o.mu.Lock()
	o.evs = append(o.evs, e)
	o.mu.Unlock()
}

func (o *observed) take() []cache.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	evs := o.evs
	o.evs = nil
	return evs
}

// A Table with an Observer reports its hits, misses, writes, evictions and
// errors, with the time reads and writes take.
func TestObserver(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		obs := new(observed)
		tbl, err := sqltable.Open[int](ctx, db, "observed", &sqltable.Options{MaxEntries: sqltable.MinEvictBatch, Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Close()
		one := func(want cache.EventKind, count int) cache.Event {
			t.Helper()
			evs := obs.take()
			if len(evs) != 1 || evs[0].Kind != want || evs[0].Count != count || evs[0].Source != cache.SourceTable || evs[0].Name != "observed" {
				t.Fatalf("events %+v, want one %v of %d entries from table observed", evs, want, count)
			}
			return evs[0]
		}
		if err := tbl.Put(ctx, keymap.NewKey("a"), 1); err != nil {
			t.Fatal(err)
		}
		if e := one(cache.EventPut, 1); e.Duration <= 0 {
			t.Fatalf("put event %+v: want the write's time", e)
		}
		if _, _, err := tbl.Get(ctx, keymap.NewKey("a")); err != nil {
			t.Fatal(err)
		}
		if e := one(cache.EventHit, 1); e.Duration <= 0 {
			t.Fatalf("hit event %+v: want the read's time", e)
		}
		if _, _, err := tbl.Get(ctx, keymap.NewKey("b")); err != nil {
			t.Fatal(err)
		}
		one(cache.EventMiss, 1)
		// GetMany: one hit event and one miss event, with their counts.
		if _, err := tbl.GetMany(ctx, []keymap.Key{keymap.NewKey("a"), keymap.NewKey("b"), keymap.NewKey("x"), keymap.NewKey("a")}); err != nil {
			t.Fatal(err)
		}
		counts := map[cache.EventKind]int{}
		for _, e := range obs.take() {
			if e.Name != "observed" || e.Duration <= 0 {
				t.Fatalf("GetMany event %+v: want the table's name and the read's time", e)
			}
			counts[e.Kind] += e.Count
		}
		if counts[cache.EventHit] != 2 || counts[cache.EventMiss] != 2 || len(counts) != 2 {
			t.Fatalf("GetMany of a, b, x, a reported %v, want 2 hits (a twice) and 2 misses", counts)
		}
		var batch []cache.Entry[int]
		for i := range 2 * sqltable.MinEvictBatch {
			batch = append(batch, cache.Entry[int]{Key: keymap.NewKey(string(rune('c' + i))), Value: i})
		}
		if err := tbl.PutMany(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if _, err := tbl.Evict(ctx); err != nil {
			t.Fatal(err)
		}
		evicted := 0
		for _, e := range obs.take() {
			switch e.Kind {
			case cache.EventPut:
				if e.Count != len(batch) {
					t.Fatalf("put event %+v, want %d entries", e, len(batch))
				}
			case cache.EventEvict:
				evicted += e.Count
			default:
				t.Fatalf("unexpected event %+v", e)
			}
		}
		n, err := tbl.Len(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if written := 1 + len(batch); evicted == 0 || evicted != written-n {
			t.Fatalf("evictions reported %d entries; %d written, %d left", evicted, written, n)
		}
		if err := tbl.Close(); err != nil {
			t.Fatal(err)
		}
		_, _, err = tbl.Get(ctx, keymap.NewKey("a"))
		if e := one(cache.EventError, 1); e.Op != "get" || !errors.Is(e.Err, sqltable.ErrClosed) || e.Err.Error() != err.Error() {
			t.Fatalf("error event %+v, want the error Get returned (%v)", e, err)
		}
	})
}

// Options.EventName names the events of a Table in place of its name.
func TestObserverEventName(t *testing.T) {
	ctx := t.Context()
	obs := new(observed)
	tbl, err := sqltable.Open[int](ctx, sqltest.SQLite(t), "fib__v2", &sqltable.Options{Observer: obs, EventName: "fib@v2"})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	if err := tbl.Put(ctx, keymap.NewKey("a"), 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tbl.Get(ctx, keymap.NewKey("a")); err != nil {
		t.Fatal(err)
	}
	evs := obs.take()
	if len(evs) != 2 {
		t.Fatalf("events %+v, want a put and a hit", evs)
	}
	for _, e := range evs {
		if e.Name != "fib@v2" {
			t.Fatalf("event %+v, want the name fib@v2", e)
		}
	}
	if tbl.Name() != "fib__v2" {
		t.Fatalf("Name() = %q, want the table's name", tbl.Name())
	}
}

package cache_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// events collects the events an Observer receives.
type events struct {
	mu  sync.Mutex
	all []cache.Event
}

func (e *events) Observe(ev cache.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

// take returns the events received since the last take, as kind strings
// ("hit", "evict 2", "error archive get hidden"), and the events.
func (e *events) take() ([]string, []cache.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	all := e.all
	e.all = nil
	var s []string
	for _, ev := range all {
		d := ev.Kind.String()
		if ev.Count != 1 {
			d += " " + string(rune('0'+ev.Count))
		}
		if ev.Op != "" {
			d += " " + ev.Op
		}
		if ev.Hidden {
			d += " hidden"
		}
		s = append(s, d)
	}
	return s, all
}

func TestMemoObserver(t *testing.T) {
	obs := new(events)
	dict := archive.NewDict[int]()
	m, c := memoize(t, &cache.MemoOptions[int]{MaxSize: 2, Archive: dict, Name: "square", Observer: obs})
	step := func(want []string, ns ...int) []cache.Event {
		t.Helper()
		callAll(t, m, ns...)
		got, evs := obs.take()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after calls %v: events %q, want %q", ns, got, want)
		}
		for _, ev := range evs {
			if ev.Source != cache.SourceMemo || ev.Name != "square" {
				t.Fatalf("event %+v: want source memo and name square", ev)
			}
		}
		return evs
	}
	evs := step([]string{"miss"}, 1)
	if evs[0].Duration <= 0 || evs[0].Err != nil {
		t.Fatalf("miss event %+v: want the function's run time and no error", evs[0])
	}
	step([]string{"hit"}, 1)
	step([]string{"miss", "miss", "evict"}, 2, 3) // 3 pushes 1 out of memory
	evs = step([]string{"load", "evict"}, 1)      // 1 comes back from the archive
	if evs[0].Duration <= 0 {
		t.Fatalf("load event %+v: want the archive's read time", evs[0])
	}
	if info := m.Info(); info.Hits != 1 || info.Misses != 3 || info.Loads != 1 || c.calls.Load() != 3 {
		t.Fatalf("Info() = %+v, want the events' counts", info)
	}
	// The function's errors are misses that carry them.
	boom := errors.New("boom")
	f, err := cache.Memoize(func(context.Context, int) (int, error) { return 0, boom }, &cache.MemoOptions[int]{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Call(t.Context(), 1); !errors.Is(err, boom) {
		t.Fatalf("Call: %v, want boom", err)
	}
	if _, evs := obs.take(); len(evs) != 1 || evs[0].Kind != cache.EventMiss || !errors.Is(evs[0].Err, boom) {
		t.Fatalf("events %+v, want one miss carrying the function's error", evs)
	}
}

func TestMemoObserverPurge(t *testing.T) {
	obs := new(events)
	m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 2, Archive: archive.NewDict[int](), Purge: true, Observer: obs})
	callAll(t, m, 1, 2)
	obs.take()
	callAll(t, m, 3)
	if got, _ := obs.take(); !reflect.DeepEqual(got, []string{"miss", "evict 2"}) {
		t.Fatalf("events %q, want a miss and the purge of 2 entries", got)
	}
}

// readOnly is an archive that holds nothing and whose writes fail.
type readOnly struct{ err error }

func (readOnly) Get(context.Context, keymap.Key) (int, bool, error) { return 0, false, nil }
func (r readOnly) Put(context.Context, keymap.Key, int) error       { return r.err }
func (readOnly) Delete(context.Context, keymap.Key) error           { return nil }

// In write-back mode, entries whose write to the archive fails stay in
// memory, so no eviction is reported for them: only the error.
func TestMemoObserverWriteBackFails(t *testing.T) {
	down := errors.New("database is down")
	for _, tc := range []struct {
		name  string
		purge bool
		op    string
	}{
		{"evict", false, "archive put on eviction"},
		{"purge", true, "archive put on purge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := new(events)
			m, _ := memoize(t, &cache.MemoOptions[int]{MaxSize: 2, Archive: readOnly{down}, WriteBack: true, Purge: tc.purge, Observer: obs})
			callAll(t, m, 1, 2)
			obs.take()
			if v, err := m.Call(t.Context(), 3); !errors.Is(err, down) || v != 9 {
				t.Fatalf("Call(3) = %d, %v; want 9 and the archive's error", v, err)
			}
			if got, _ := obs.take(); !reflect.DeepEqual(got, []string{"miss", "error " + tc.op}) {
				t.Fatalf("events %q, want a miss and the error, no eviction", got)
			}
			if got := inMemory(t, m); !reflect.DeepEqual(got, []int{1, 2}) {
				t.Fatalf("memory holds %v, want [1 2] kept", got)
			}
		})
	}
}

// records is a slog.Handler that keeps the records it handles.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// attrs returns the attributes of the i-th record.
func (r *records) attrs(i int) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]string{"msg": r.recs[i].Message, "level": r.recs[i].Level.String()}
	r.recs[i].Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

func (r *records) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.recs)
}

// A Safe memo tells its Logger the errors it hides, at most one record per
// operation a minute; the next record says how many were left out.
func TestMemoLoggerHiddenErrors(t *testing.T) {
	down := errors.New("database is down")
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	log := new(records)
	obs := new(events)
	m, _ := memoize(t, &cache.MemoOptions[int]{
		Archive: failing{down}, Safe: true, Name: "square", Clock: clock,
		Logger: slog.New(log), Observer: obs, Policy: cache.PolicyNo,
	})
	callAll(t, m, 1, 2, 3) // each: a failed get and a failed put
	if got, _ := obs.take(); len(got) != 9 || got[0] != "error archive get hidden" || got[2] != "error archive put hidden" {
		t.Fatalf("events %q, want per call: a hidden get error, a miss, a hidden put error", got)
	}
	if n := log.len(); n != 2 {
		t.Fatalf("%d records, want 2: one for the gets, one for the puts", n)
	}
	if a := log.attrs(0); a["msg"] != "klepto: archive get" || a["level"] != "ERROR" || a["memo"] != "square" ||
		a["op"] != "archive get" || a["err"] != "cache: archive get: database is down" || a["suppressed"] != "" {
		t.Fatalf("first record %v", a)
	}
	advance(59 * time.Second)
	callAll(t, m, 4)
	if n := log.len(); n != 2 {
		t.Fatalf("%d records within the minute, want still 2", n)
	}
	advance(time.Second)
	callAll(t, m, 5)
	if n := log.len(); n != 4 {
		t.Fatalf("%d records after the minute, want 4", n)
	}
	if a := log.attrs(2); a["op"] != "archive get" || a["suppressed"] != "3" {
		t.Fatalf("record after the minute %v, want 3 suppressed gets", a)
	}
	if info := m.Info(); info.Errors != 10 {
		t.Fatalf("Info().Errors = %d, want 10: logging leaves out records, not counts", info.Errors)
	}
}

// An Observer does not make a hit from memory allocate.
func TestMemoHitObservedAllocs(t *testing.T) {
	var n int
	m, err := cache.Memoize(func(_ context.Context, a benchArgs) (int, error) { return a.ID, nil },
		&cache.MemoOptions[int]{Observer: cache.ObserverFunc(func(e cache.Event) { n += e.Count })})
	if err != nil {
		t.Fatal(err)
	}
	arg := benchArgs{ID: 42, Name: "answer"}
	ctx := t.Context()
	callAll := func() {
		if _, err := m.Call(ctx, arg); err != nil {
			t.Fatal(err)
		}
	}
	callAll()
	callAll()
	if allocs := testing.AllocsPerRun(100, callAll); allocs != 0 {
		t.Fatalf("a hit with an Observer makes %v allocations, want 0", allocs)
	}
	if n != 102+1 {
		t.Fatalf("the Observer counted %d events, want 103", n)
	}
}

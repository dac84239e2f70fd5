package sqlarchive_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
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

// kinds returns the events received since the last call as "source kind
// name" strings.
func (o *observed) kinds() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var s []string
	for _, e := range o.evs {
		s = append(s, e.Source.String()+" "+e.Kind.String()+" "+e.Name)
	}
	o.evs = nil
	return s
}

// count returns how many events received match.
func (o *observed) count(match func(cache.Event) bool) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, e := range o.evs {
		if match(e) {
			n++
		}
	}
	return n
}

// logged is a slog.Handler that counts its records by message.
type logged struct {
	mu   sync.Mutex
	msgs map[string]int
}

func (l *logged) Enabled(context.Context, slog.Level) bool { return true }
func (l *logged) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.msgs == nil {
		l.msgs = map[string]int{}
	}
	l.msgs[r.Message]++
	return nil
}
func (l *logged) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logged) WithGroup(string) slog.Handler      { return l }
func (l *logged) records(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.msgs[msg]
}

// The Observer of an Archive receives the events of its memos and tables:
// a result computed by one process is a miss there and a load in the
// other. Its Logger receives the errors of the background work,
// rate-limited.
func TestObserverAndLogger(t *testing.T) {
	for _, dl := range sqltest.Dialects() {
		t.Run(dl.Name(), func(t *testing.T) {
			d := sqltest.Fresh(t, dl)
			ctx := t.Context()
			pool, err := sql.Open(d.Driver, d.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			obsA, obsB, log := new(observed), new(observed), new(logged)
			a, err := sqlarchive.Open(ctx, pool, &sqlarchive.Options{Dialect: dl, Observer: obsA, Logger: slog.New(log), PollInterval: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			b := open(t, d.DB, dl, &sqlarchive.Options{Observer: obsB})
			var calls atomic.Int64
			square := func(_ context.Context, a nArgs) (int, error) {
				calls.Add(1)
				return a.N * a.N, nil
			}
			ma, err := sqlarchive.Memoize(ctx, a, "sq", square, nil)
			if err != nil {
				t.Fatal(err)
			}
			mb, err := sqlarchive.Memoize(ctx, b, "sq", square, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []*cache.Memo[nArgs, int]{ma, mb} {
				if v, err := m.Call(ctx, nArgs{3}); err != nil || v != 9 {
					t.Fatalf("Call = %d, %v", v, err)
				}
			}
			if calls.Load() != 1 {
				t.Fatalf("the function ran %d times, want once", calls.Load())
			}
			if got, want := obsA.kinds(), []string{"table miss sq", "memo miss sq", "table put sq"}; !slices.Equal(got, want) {
				t.Fatalf("events of the computing process %q, want %q", got, want)
			}
			if got, want := obsB.kinds(), []string{"table hit sq", "memo load sq"}; !slices.Equal(got, want) {
				t.Fatalf("events of the loading process %q, want %q", got, want)
			}

			// Reading the change feed fails from now on, every 10 ms: each
			// failure is an event, and one record is logged a minute.
			pool.Close()
			follow := func(e cache.Event) bool {
				return e.Kind == cache.EventError && e.Source == cache.SourceArchive && e.Op == "follow" && e.Hidden && e.Err != nil
			}
			eventually(t, "three failed reads of the feed reported", func() bool { return obsA.count(follow) >= 3 })
			if n := log.records("klepto: follow"); n != 1 {
				t.Fatalf("%d records of the failed reads, want 1", n)
			}
			_ = a.Close() // fails: its pool is closed
		})
	}
}

// Every kind of background work reports its failures to the Observer, and
// to the Logger once a minute per kind: the change feed follower, the
// janitor, and the flushes of the catalog's counts and of the rows' hits.
func TestBackgroundErrors(t *testing.T) {
	var failWrites, failReads atomic.Bool
	broken := errors.New("disk on fire")
	db := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
		switch {
		case failWrites.Load() && (op == sqltest.OpExec || op == sqltest.OpBegin):
			return broken
		case failReads.Load() && op == sqltest.OpQuery:
			return broken
		}
		return nil
	})
	ctx := t.Context()
	obs, log := new(observed), new(logged)
	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{
		Dialect: dialect.SQLite, Observer: obs, Logger: slog.New(log),
		PollInterval: 10 * time.Millisecond, ExpireInterval: 10 * time.Millisecond, StatsInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := sqlarchive.Memoize(ctx, a, "sq", func(_ context.Context, a nArgs) (int, error) { return a.N * a.N, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Call(ctx, nArgs{3}); err != nil {
		t.Fatal(err)
	}
	key, err := m.Key(nArgs{3})
	if err != nil {
		t.Fatal(err)
	}
	failWrites.Store(true)
	// A hit from memory, whose count waits for the catalog, and a read
	// that finds the entry, whose hit waits in the access log.
	if _, err := m.Call(ctx, nArgs{3}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := m.Archive().Get(ctx, key); err != nil || !found {
		t.Fatalf("Get: %v, %v", found, err)
	}
	failReads.Store(true)
	ops := []string{"follow", "expire", "flush stats", "flush access"}
	eventually(t, fmt.Sprintf("errors of %q reported", ops), func() bool {
		for _, op := range ops {
			if obs.count(func(e cache.Event) bool {
				return e.Kind == cache.EventError && e.Op == op && e.Hidden && errors.Is(e.Err, broken)
			}) == 0 {
				return false
			}
		}
		return true
	})
	for _, op := range ops {
		if n := log.records("klepto: " + op); n != 1 {
			t.Errorf("%d records of %s, want 1", n, op)
		}
	}
	_ = a.Close() // fails: writes fail
}

// A failed release of leases, which runs after the calls that held them
// returned, reaches the Observer and the Logger: the leases are left to
// expire, and the other processes wait for them until then.
func TestLeaseReleaseErrors(t *testing.T) {
	var failRelease atomic.Bool
	broken := errors.New("disk on fire")
	db := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
		// On SQLite a release deletes the leases it names by holder.
		if failRelease.Load() && op == sqltest.OpExec && strings.HasPrefix(query, "DELETE") &&
			strings.Contains(query, "klepto_leases") && strings.Contains(query, "holder") {
			return broken
		}
		return nil
	})
	ctx := t.Context()
	obs, log := new(observed), new(logged)
	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: dialect.SQLite, Observer: obs, Logger: slog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := sqlarchive.Memoize(ctx, a, "sq", func(_ context.Context, a nArgs) (int, error) { return a.N * a.N, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	failRelease.Store(true)
	if v, err := m.Call(ctx, nArgs{3}); err != nil || v != 9 {
		t.Fatalf("Call = %d, %v; want 9: the release runs after the call", v, err)
	}
	release := func(e cache.Event) bool {
		return e.Kind == cache.EventError && e.Source == cache.SourceArchive && e.Op == "release leases" && e.Hidden && errors.Is(e.Err, broken)
	}
	if err := a.Close(); err != nil { // waits for the release
		t.Fatal(err)
	}
	if n := obs.count(release); n != 1 {
		t.Fatalf("%d failed releases reported, want 1", n)
	}
	if n := log.records("klepto: release leases"); n != 1 {
		t.Fatalf("%d records of the failed release, want 1", n)
	}
}

// A failed renewal of a lease, while the call that holds it runs, reaches
// the Observer and the Logger; the call itself succeeds.
func TestLeaseRenewErrors(t *testing.T) {
	var failRenew atomic.Bool
	broken := errors.New("disk on fire")
	db := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
		if failRenew.Load() && op == sqltest.OpExec && strings.HasPrefix(query, "UPDATE") &&
			strings.Contains(query, "klepto_leases") {
			return broken
		}
		return nil
	})
	ctx := t.Context()
	obs, log := new(observed), new(logged)
	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Dialect: dialect.SQLite, Observer: obs, Logger: slog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	renew := func(e cache.Event) bool {
		return e.Kind == cache.EventError && e.Source == cache.SourceArchive && e.Op == "renew lease" && e.Hidden && errors.Is(e.Err, broken)
	}
	// The lease is renewed every 100 ms; the call lasts until a failed
	// renewal was reported.
	m, err := sqlarchive.Memoize(ctx, a, "sq", func(ctx context.Context, a nArgs) (int, error) {
		for obs.count(renew) == 0 {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
		return a.N * a.N, nil
	}, &sqlarchive.MemoizeOptions[int]{LeaseTTL: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	failRenew.Store(true)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if v, err := m.Call(ctx, nArgs{3}); err != nil || v != 9 {
		t.Fatalf("Call = %d, %v; want 9 once a failed renewal was reported", v, err)
	}
	if n := log.records("klepto: renew lease"); n != 1 {
		t.Fatalf("%d records of the failed renewals, want 1 (at most one a minute)", n)
	}
}

// The events of a memo and those of its archive's table carry one name,
// the archive's, even where the table's name differs ("fib@v2" in the
// table fib__v2), so that metrics keep them under one label.
func TestEventNames(t *testing.T) {
	ctx := t.Context()
	obs := new(observed)
	a := open(t, sqltest.SQLite(t), dialect.SQLite, &sqlarchive.Options{Observer: obs})
	m, err := sqlarchive.Memoize(ctx, a, "fib", func(_ context.Context, a nArgs) (int, error) { return a.N * a.N, nil },
		&sqlarchive.MemoizeOptions[int]{Version: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Call(ctx, nArgs{3}); err != nil {
		t.Fatal(err)
	}
	tbl, err := sqlarchive.Table[int](ctx, a, "fib@v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := m.Key(nArgs{3})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tbl.Get(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got, want := obs.kinds(), []string{"table miss fib@v2", "memo miss fib@v2", "table put fib@v2", "table hit fib@v2"}; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if tbl.Name() != "fib__v2" {
		t.Fatalf("Name() = %q, want the table's name fib__v2", tbl.Name())
	}
}

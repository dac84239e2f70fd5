package sqlarchive

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
)

// recorder is a subscriber that records what it is told.
type recorder struct {
	mu   sync.Mutex
	keys []string // texts of the keys invalidated, "*" for all
}

func (r *recorder) invalidate(keys []keymap.Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if keys == nil {
		r.keys = append(r.keys, "*")
	}
	for _, k := range keys {
		r.keys = append(r.keys, k.Text)
	}
}

func (r *recorder) dropped()    {}
func (r *recorder) alive() bool { return true }

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.keys)
}

func (r *recorder) altered() {}

// started waits for the first poll of a's follower, which it makes when
// it starts: after it, the follower reads only when a test calls read.
func started(t *testing.T, a *Archive) {
	t.Helper()
	for a.FollowInfo().Polls == 0 {
		time.Sleep(time.Millisecond)
	}
}

// quiet returns an Archive of db whose follower polls once when it starts
// (see started), then only when a test calls read.
func quiet(t *testing.T, db *sqltest.Database, window int) *Archive {
	t.Helper()
	a, err := Open(t.Context(), db.DB, &Options{Dialect: db.Dialect, PollInterval: time.Hour, FeedWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// A follower that fell further behind the feed than its window drops all
// memory, and reads on from the newest change.
func TestFollowerFellBehind(t *testing.T) {
	db := sqltest.Fresh(t, dialect.SQLite)
	ctx := t.Context()
	a := quiet(t, &db, 256)
	rec := new(recorder)
	if err := a.follower.subscribe(ctx, "fib", rec); err != nil {
		t.Fatal(err)
	}
	started(t, a)
	fib, err := Table[int](ctx, a, "fib", nil)
	if err != nil {
		t.Fatal(err)
	}
	key := keymap.NewKey("(n=1)")
	for i := range 1001 { // 1,000 overwrites, 1,000 changes
		if err := fib.Put(ctx, key, i); err != nil {
			t.Fatal(err)
		}
	}
	var kept int
	if err := db.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM klepto_changes`).Scan(&kept); err != nil || kept > 256 {
		t.Fatalf("the feed keeps %d changes (%v), want at most its window of 256", kept, err)
	}
	a.follower.read(ctx)
	info := a.FollowInfo()
	if info.Resets != 1 || info.Cursor != 1000 || info.Errors != 0 {
		t.Fatalf("FollowInfo = %+v, want one reset and the cursor at 1000", info)
	}
	if got := rec.got(); len(got) == 0 || got[0] != "*" {
		t.Fatalf("the subscriber was told %q, want all memory dropped first", got)
	}
}

// A change whose id shows up after a later one, as when transactions
// commit out of order, is still passed on.
func TestFollowerGaps(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, d)
			ctx := t.Context()
			a := quiet(t, &db, 0)
			rec := new(recorder)
			if err := a.follower.subscribe(ctx, "fib", rec); err != nil {
				t.Fatal(err)
			}
			started(t, a)
			k1, k2 := keymap.NewKey("(n=1)"), keymap.NewKey("(n=2)")
			insert := d.Rebind(`INSERT INTO ` + migrations.ChangesTable + ` (table_name, op, key_hash, key_text) VALUES ('fib', 'update', ?, ?)`)
			var commitFirst func() error
			if d == dialect.SQLite {
				// SQLite serializes writers: give the ids by hand.
				explicit := `INSERT INTO ` + migrations.ChangesTable + ` (id, table_name, op, key_hash, key_text) VALUES (?, 'fib', 'update', ?, ?)`
				if _, err := db.DB.ExecContext(ctx, explicit, 2, k2.Hash[:], k2.Text); err != nil {
					t.Fatal(err)
				}
				commitFirst = func() error {
					_, err := db.DB.ExecContext(ctx, explicit, 1, k1.Hash[:], k1.Text)
					return err
				}
			} else {
				first, err := db.DB.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer first.Rollback()
				if _, err := first.ExecContext(ctx, insert, k1.Hash[:], k1.Text); err != nil {
					t.Fatal(err)
				}
				if _, err := db.DB.ExecContext(ctx, insert, k2.Hash[:], k2.Text); err != nil {
					t.Fatal(err)
				}
				commitFirst = first.Commit
			}
			a.follower.read(ctx)
			if got := rec.got(); !slices.Equal(got, []string{"(n=2)"}) {
				t.Fatalf("after the second change: %q", got)
			}
			if err := commitFirst(); err != nil {
				t.Fatal(err)
			}
			a.follower.read(ctx)
			if got := rec.got(); !slices.Equal(got, []string{"(n=2)", "(n=1)"}) {
				t.Fatalf("after the first change committed: %q, want (n=2) then (n=1)", got)
			}
			if info := a.FollowInfo(); info.Resets != 0 || info.Cursor != 2 {
				t.Fatalf("FollowInfo = %+v", info)
			}
		})
	}
}

// With ids in steps of 3, as on a three-node Galera cluster, the follower
// awaits the ids of each class (id % 3) apart: one node writing alone
// leaves no gap however many changes it makes; an id of another class
// below the cursor, committed late, is read; so is an id of the writer's
// own class that commits after a higher one. An id of a class that has
// been below the cursor for gapWait is no longer awaited.
func TestFollowerStrideClasses(t *testing.T) {
	db := sqltest.Fresh(t, dialect.SQLite)
	ctx := t.Context()
	a := quiet(t, &db, 0)
	rec := new(recorder)
	f := a.follower
	if err := f.subscribe(ctx, "fib", rec); err != nil {
		t.Fatal(err)
	}
	started(t, a)
	f.mu.Lock()
	f.setStride(3, time.Now())
	f.maxGaps = 30 // 10 × the stride
	f.mu.Unlock()
	insert := func(id int64) {
		t.Helper()
		k := keymap.NewKey(fmt.Sprintf("(n=%d)", id))
		if _, err := db.DB.ExecContext(ctx, `INSERT INTO `+migrations.ChangesTable+
			` (id, table_name, op, key_hash, key_text) VALUES (?, 'fib', 'update', ?, ?)`, id, k.Hash[:], k.Text); err != nil {
			t.Fatal(err)
		}
	}
	// Node 1 alone: ids 1, 4, 7, … 298; 100 changes, 200 ids unused.
	for id := int64(1); id < 300; id += 3 {
		insert(id)
	}
	f.read(ctx)
	f.mu.Lock()
	gaps := len(f.gaps)
	f.mu.Unlock()
	if info := a.FollowInfo(); info.Resets != 0 || info.Changes != 100 || info.Cursor != 298 || gaps != 0 {
		t.Fatalf("after 100 changes of one class: FollowInfo = %+v, %d gaps; want no reset, 100 changes, no gap", info, gaps)
	}
	// Node 2 commits id 5 late, and node 1 commits 301 before 304 is
	// done.
	insert(5)
	insert(307)
	f.read(ctx)
	insert(304)
	f.read(ctx)
	got := rec.got()
	if want := []string{"(n=5)", "(n=307)", "(n=304)"}; !slices.Equal(got[len(got)-3:], want) {
		t.Fatalf("the last changes passed on: %q, want %q", got[len(got)-3:], want)
	}
	if info := a.FollowInfo(); info.Resets != 0 || info.Changes != 103 {
		t.Fatalf("FollowInfo = %+v, want no reset and 103 changes", info)
	}
	// After gapWait, ids below the cursor of then are no longer awaited:
	// no class is read from below it, and no gap is left.
	f.mu.Lock()
	f.gapWait = 20 * time.Millisecond
	f.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	f.read(ctx)
	time.Sleep(50 * time.Millisecond)
	f.read(ctx)
	f.mu.Lock()
	classes, gaps := slices.Clone(f.classes), len(f.gaps)
	f.mu.Unlock()
	for r, last := range classes {
		if last < 307 {
			t.Errorf("class %d still awaited from %d, below the cursor 307 of gapWait ago", r, last)
		}
	}
	if gaps != 0 {
		t.Errorf("%d gaps left after gapWait", gaps)
	}
}

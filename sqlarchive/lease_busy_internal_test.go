package sqlarchive

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
)

// On SQLite, releasing leases waits for another connection's write lock
// beyond busy_timeout, within the release's deadline, rather than leaving
// the leases to expire.
func TestReleaseWaitsForSQLiteLock(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cache.db")
	db := sqltest.SQLiteAt(t, path)
	other := sqltest.SQLiteAt(t, path)
	a, err := Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := Table[int](ctx, a, "sq", nil); err != nil {
		t.Fatal(err)
	}
	l := a.leases
	key := keymap.NewKey("(3)")
	holder := l.holder()
	s, got, err := l.acquire(ctx, "sq", key, holder, time.Minute, l.d.TimeArg(time.Now()))
	if err != nil || !got {
		t.Fatalf("acquire = %v, %v", got, err)
	}

	// Another connection holds the write lock for three busy_timeouts.
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	unlocked := make(chan error, 1)
	time.AfterFunc(300*time.Millisecond, func() {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), "COMMIT")
		unlocked <- err
	})
	rctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	defer cancel()
	err = l.releaseAll(rctx, []release{{"sq", key.Hash[:], holder}}, map[string]*leaseSQL{"sq": s})
	if uerr := <-unlocked; uerr != nil {
		t.Fatal(uerr)
	}
	if err != nil {
		t.Fatalf("release while locked: %v", err)
	}

	// Released, the lease can be taken once its grace has passed.
	time.Sleep(2 * releaseGrace)
	_, got, err = l.acquire(ctx, "sq", key, l.holder(), time.Minute, l.d.TimeArg(time.Now()))
	if err != nil || !got {
		t.Fatalf("acquire after the release = %v, %v; want the lease", got, err)
	}
}

// A batch of releases is one statement per table, which releases the
// leases of the batch and no other, on every database.
func TestReleaseMany(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a, err := Open(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		l := a.leases
		stmts := map[string]*leaseSQL{}
		var batch []release
		var kept []keymap.Key
		for _, table := range []string{"sq", "cube"} {
			if _, err := Table[int](ctx, a, table, nil); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				key := keymap.NewKey(fmt.Sprintf("(%d)", i))
				holder := l.holder()
				s, got, err := l.acquire(ctx, table, key, holder, time.Minute, l.d.TimeArg(time.Now()))
				if err != nil || !got {
					t.Fatalf("acquire = %v, %v", got, err)
				}
				stmts[table] = s
				switch {
				case i < 3:
					batch = append(batch, release{table, key.Hash[:], holder})
				case table == "sq":
					kept = append(kept, key)
				}
			}
		}
		// A holder of the batch on a key it does not hold releases nothing.
		batch = append(batch, release{"sq", kept[0].Hash[:], batch[1].holder})
		if err := l.releaseAll(ctx, batch, stmts); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * releaseGrace)
		for _, r := range batch[:len(batch)-1] {
			if _, got, err := l.acquire(ctx, r.table, keymap.Key{Hash: [32]byte(r.hash.([]byte))}, l.holder(), time.Minute, l.d.TimeArg(time.Now())); err != nil || !got {
				t.Errorf("acquire of a released lease of %s = %v, %v; want it", r.table, got, err)
			}
		}
		for _, key := range kept {
			if _, got, err := l.acquire(ctx, "sq", key, l.holder(), time.Minute, l.d.TimeArg(time.Now())); err != nil || got {
				t.Errorf("acquire of a lease not released = %v, %v; want it refused", got, err)
			}
		}
	})
}

package sqlarchive

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
)

// On SQLite a release deletes the leases it names, and no others, however
// many a batch holds (each size of statement pads its list with the first
// lease), and a released key can be leased again at once.
func TestReleaseDeletesSQLiteLeases(t *testing.T) {
	ctx := t.Context()
	db := sqltest.SQLiteAt(t, filepath.Join(t.TempDir(), "cache.db"))
	a, err := Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := Table[int](ctx, a, "sq", nil); err != nil {
		t.Fatal(err)
	}
	l := a.leases
	for _, n := range []int{1, 2, 3, 5, 100, maxReleases} {
		var held, batch []release
		var s *leaseSQL
		for i := range n + 2 { // two more than released, which stay held
			key := keymap.NewKey(fmt.Sprintf("(%d, %d)", n, i))
			holder := l.holder()
			var got bool
			s, got, err = l.acquire(ctx, "sq", key, holder, time.Minute, l.d.TimeArg(time.Now()))
			if err != nil || !got {
				t.Fatalf("acquire = %v, %v", got, err)
			}
			held = append(held, release{"sq", key.Hash[:], holder})
		}
		batch, held = held[:n], held[n:]
		if err := l.releaseAll(ctx, batch, map[string]*leaseSQL{"sq": s}); err != nil {
			t.Fatalf("release %d leases: %v", n, err)
		}
		var left int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+migrations.LeasesTable).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != len(held) {
			t.Fatalf("released %d leases of %d: %d rows left, want %d", n, n+len(held), left, len(held))
		}
		for _, r := range held {
			var holder string
			if err := db.QueryRowContext(ctx, "SELECT holder FROM "+migrations.LeasesTable+" WHERE key_hash = ?", r.hash).Scan(&holder); err != nil || holder != r.holder {
				t.Fatalf("lease not released: holder %q, %v; want %q", holder, err, r.holder)
			}
		}
		r := batch[0]
		key := keymap.Key{}
		copy(key.Hash[:], r.hash.([]byte))
		if _, got, err := l.acquire(ctx, "sq", key, l.holder(), time.Minute, l.d.TimeArg(time.Now())); err != nil || !got {
			t.Fatalf("acquire just after the release = %v, %v; want the lease", got, err)
		}
		if _, err := db.ExecContext(ctx, "DELETE FROM "+migrations.LeasesTable); err != nil {
			t.Fatal(err)
		}
	}
}

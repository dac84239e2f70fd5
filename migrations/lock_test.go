package migrations_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
)

// Over a pool of one connection, where the lock's transaction could not
// have a connection of its own, Up takes the session lock on its own
// connection instead: it neither waits for a second connection nor leaves
// the lock held.
func TestPoolOfOnePostgres(t *testing.T) {
	db := sqltest.Postgres(t)
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	opts := &migrations.Options{Dialect: dialect.Postgres}
	if err := migrations.Up(ctx, db, opts); err != nil {
		t.Fatalf("Up over a pool of one connection: %v", err)
	}
	if err := migrations.Up(ctx, db, opts); !errors.Is(err, migrations.ErrNoChange) {
		t.Fatalf("Up again = %v, want ErrNoChange", err)
	}
	var locks int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`).Scan(&locks)
	if err != nil || locks != 0 {
		t.Errorf("the pool's connection holds %d advisory locks (%v), want none", locks, err)
	}
}

package sqlarchive

import (
	"database/sql"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
)

// TestSchemaProbe: upToDate holds for the schema of the latest migration,
// and for no earlier one: reverting each migration in turn makes it false,
// so a migration that latestColumns lacks fails here. A dirty record makes
// it false too.
func TestSchemaProbe(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		opts := &migrations.Options{Dialect: d}
		if err := migrations.Up(ctx, db, opts); err != nil {
			t.Fatal(err)
		}
		if !upToDate(ctx, db, d) {
			t.Fatal("upToDate = false at the latest migration")
		}
		if _, err := db.ExecContext(ctx, `UPDATE `+migrations.MigrationsTable+` SET dirty = `+map[bool]string{true: "1", false: "true"}[d == dialect.MySQL]); err != nil {
			t.Fatal(err)
		}
		if upToDate(ctx, db, d) {
			t.Error("upToDate = true with a dirty record")
		}
		list, err := migrations.List(d)
		if err != nil {
			t.Fatal(err)
		}
		latest := list[len(list)-1].Version
		if err := migrations.Force(ctx, db, latest, opts); err != nil {
			t.Fatal(err)
		}
		for range list {
			if err := migrations.Down(ctx, db, 1, opts); err != nil {
				t.Fatal(err)
			}
			v, _, err := migrations.Version(ctx, db, opts)
			if err != nil {
				t.Fatal(err)
			}
			if upToDate(ctx, db, d) {
				t.Errorf("upToDate = true at version %d", v)
			}
			// The record alone says nothing: the tables of the latest
			// migration are needed too.
			if v > 0 {
				if err := migrations.Force(ctx, db, latest, opts); err != nil {
					t.Fatal(err)
				}
				if upToDate(ctx, db, d) {
					t.Errorf("upToDate = true at version %d, recorded as %d", v, latest)
				}
				if err := migrations.Force(ctx, db, v, opts); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

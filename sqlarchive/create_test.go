package sqlarchive_test

import (
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// CreateLike creates the archive a catalog row describes, once; then it
// checks the archive against the row, and refuses rows that describe no
// valid archive.
func TestCreateLike(t *testing.T) {
	km, err := keymap.NewHash(keymap.SHA256, nil)
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := copyOpen(t, db, d)
		like := sqlarchive.TableInfo{Name: "fib@v2", Keymap: km.String(), KeymapVersion: keymap.Version,
			Codec: codec.Gob, TTL: time.Hour}
		for range 2 { // the second call finds the archive
			got, err := sqlarchive.CreateLike(ctx, a, like)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "fib@v2" || got.Table != "fib__v2" || got.FuncVersion != "v2" || got.Keymap != km.String() ||
				got.KeymapVersion != keymap.Version || got.Codec != codec.Gob || got.TTL != time.Hour ||
				got.Layout != dialect.Layout {
				t.Errorf("CreateLike = %+v", got)
			}
		}
		if _, err := sqlarchive.Table[[]byte](ctx, a, "fib@v2", &sqlarchive.TableOptions{Keymap: km}); err != nil {
			t.Errorf("Table with the keymap: %v", err)
		}

		for _, c := range []struct {
			field  string
			change func(*sqlarchive.TableInfo)
		}{
			{"codec", func(i *sqlarchive.TableInfo) { i.Codec = codec.JSON }},
			{"keymap", func(i *sqlarchive.TableInfo) { i.Keymap = "string" }},
			{"keymap version", func(i *sqlarchive.TableInfo) { i.KeymapVersion = 2 }},
			{"ttl", func(i *sqlarchive.TableInfo) { i.TTL = 0 }},
		} {
			other := like
			c.change(&other)
			_, err := sqlarchive.CreateLike(ctx, a, other)
			if me, ok := errors.AsType[*sqlarchive.MismatchError](err); !ok || me.Field != c.field {
				t.Errorf("CreateLike with another %s: %v, want a *MismatchError", c.field, err)
			}
		}

		for _, c := range []struct {
			what   string
			change func(*sqlarchive.TableInfo)
		}{
			{"invalid name", func(i *sqlarchive.TableInfo) { i.Name = "no spaces" }},
			{"another table", func(i *sqlarchive.TableInfo) { i.Name, i.Table = "new", "other" }},
			{"another version", func(i *sqlarchive.TableInfo) { i.Name, i.FuncVersion = "new", "v3" }},
			{"invalid codec", func(i *sqlarchive.TableInfo) { i.Name, i.Codec = "new", codec.Codec(9) }},
			{"negative TTL", func(i *sqlarchive.TableInfo) { i.Name, i.TTL = "new", -time.Second }},
			{"no keymap", func(i *sqlarchive.TableInfo) { i.Name, i.Keymap = "new", "" }},
			{"no keymap version", func(i *sqlarchive.TableInfo) { i.Name, i.KeymapVersion = "new", 0 }},
		} {
			bad := like
			c.change(&bad)
			want := sqlarchive.ErrInvalidOptions
			if c.what == "invalid name" {
				want = sqlarchive.ErrInvalidName
			}
			if _, err := sqlarchive.CreateLike(ctx, a, bad); !errors.Is(err, want) {
				t.Errorf("CreateLike with %s: %v, want %v", c.what, err, want)
			}
		}
		if _, err := a.Info(ctx, "new"); !errors.Is(err, sqlarchive.ErrNotFound) {
			t.Errorf("after refused CreateLikes, Info(new) = %v, want ErrNotFound", err)
		}
	})
}

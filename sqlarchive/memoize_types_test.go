package sqlarchive_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
)

type fibArgs struct {
	N int
}

// TestMemoizeTypeChanged: the catalog records the types of a memoized
// function; Memoize refuses another result or argument type under the
// same name and version, saying what changed and to bump the version;
// the same types, and a new version, are fine.
func TestMemoizeTypeChanged(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := open(t, db, d, nil)
		fibInt := func(_ context.Context, n int) (int, error) { return n, nil }
		fibString := func(_ context.Context, n int) (string, error) { return strconv.Itoa(n), nil }
		if _, err := sqlarchive.Memoize(ctx, a, "fib", fibInt, nil); err != nil {
			t.Fatal(err)
		}
		info, err := a.Info(ctx, "fib")
		if err != nil || info.ResultType != "int" || info.ArgsType != "int" {
			t.Fatalf("Info = %+v, %v; want result and argument types int", info, err)
		}
		// Same types, another Archive: fine.
		m, err := sqlarchive.Memoize(ctx, open(t, db, d, nil), "fib", fibInt, nil)
		if err != nil {
			t.Fatalf("Memoize of the same types: %v", err)
		}
		if v, err := m.Call(ctx, 3); err != nil || v != 3 {
			t.Errorf("Call(3) = %v, %v", v, err)
		}

		_, err = sqlarchive.Memoize(ctx, a, "fib", fibString, nil)
		want := `sqlarchive: memoize "fib": the result type changed from int to string since the archive was made: ` +
			`bump the function version (MemoizeOptions.Version, or name@v2) or drop the archive`
		if !errors.Is(err, sqlarchive.ErrTypeChanged) || err.Error() != want {
			t.Errorf("Memoize with another result type = %v, want an error wrapping ErrTypeChanged:\n%s", err, want)
		}
		_, err = sqlarchive.Memoize(ctx, a, "fib", func(_ context.Context, n fibArgs) (int, error) { return n.N, nil }, nil)
		if !errors.Is(err, sqlarchive.ErrTypeChanged) ||
			!strings.Contains(err.Error(), "the argument type changed from int to github.com/klepto-sql/klepto/sqlarchive_test.fibArgs{N int}") {
			t.Errorf("Memoize with another argument type = %v, want an error wrapping ErrTypeChanged naming both", err)
		}
		// The refusal changed nothing; a new version is a new archive.
		if info, err := a.Info(ctx, "fib"); err != nil || info.ResultType != "int" {
			t.Errorf("after the refusals, Info = %+v, %v", info, err)
		}
		m2, err := sqlarchive.Memoize(ctx, a, "fib", fibString, &sqlarchive.MemoizeOptions[string]{Version: "v2"})
		if err != nil {
			t.Fatalf("Memoize of a new version: %v", err)
		}
		if v, err := m2.Call(ctx, 3); err != nil || v != "3" {
			t.Errorf("Call(3) of v2 = %q, %v", v, err)
		}
		if info, err := a.Info(ctx, "fib@v2"); err != nil || info.ResultType != "string" {
			t.Errorf("Info(fib@v2) = %+v, %v; want result type string", info, err)
		}
	})
}

// TestMemoizeRecordsTypes: an archive made by Table, or by a release
// before migration 7, records no types (Table does not check them);
// Memoize records them, and checks them from then on.
func TestMemoizeRecordsTypes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := open(t, db, d, nil)
		table[string](t, a, "sq", nil)
		table[int](t, a, "sq", nil) // Table checks no types
		if info, err := a.Info(ctx, "sq"); err != nil || info.ResultType != "" || info.ArgsType != "" {
			t.Fatalf("Info of a Table's archive = %+v, %v; want no types", info, err)
		}
		if _, err := sqlarchive.Memoize(ctx, a, "sq", func(_ context.Context, n int) (int64, error) { return int64(n * n), nil }, nil); err != nil {
			t.Fatal(err)
		}
		if info, err := a.Info(ctx, "sq"); err != nil || info.ResultType != "int64" || info.ArgsType != "int" {
			t.Errorf("Info after Memoize = %+v, %v; want int64 and int", info, err)
		}
		_, err := sqlarchive.Memoize(ctx, a, "sq", func(_ context.Context, n int) (float64, error) { return float64(n * n), nil }, nil)
		if !errors.Is(err, sqlarchive.ErrTypeChanged) || !strings.Contains(err.Error(), "from int64 to float64") {
			t.Errorf("Memoize with another result type = %v, want ErrTypeChanged", err)
		}
	})
}

// TestMemoizeTypesAfterDrop: a memo whose archive was dropped makes it
// anew at its next call, with its types recorded.
func TestMemoizeTypesAfterDrop(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := open(t, db, d, nil)
		m, err := sqlarchive.Memoize(ctx, a, "half", func(_ context.Context, n int) (float64, error) { return float64(n) / 2, nil }, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Drop(ctx, "half"); err != nil {
			t.Fatal(err)
		}
		if v, err := m.Call(ctx, 3); err != nil || v != 1.5 {
			t.Fatalf("Call(3) after the drop = %v, %v", v, err)
		}
		if info, err := a.Info(ctx, "half"); err != nil || info.ResultType != "float64" || info.ArgsType != "int" {
			t.Errorf("Info after the archive was made anew = %+v, %v; want float64 and int", info, err)
		}
	})
}

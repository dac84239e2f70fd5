package main

import (
	"context"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
)

type shapeArgs struct {
	Side  int
	Label string `json:"label"`
}

// TestShowTypes checks that show and ls -json give the types that Memoize
// recorded, and show nothing of types for an archive made by create.
func TestShowTypes(t *testing.T) {
	for i, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			ctx := t.Context()
			fresh := sqltest.Fresh(t, d)
			dsn := dsnOf(t, fresh, i%2 == 0)
			a, err := sqlarchive.Open(ctx, fresh.DB, &sqlarchive.Options{Dialect: d})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			area := func(_ context.Context, s shapeArgs) (map[string][]float64, error) {
				return map[string][]float64{s.Label: {float64(s.Side * s.Side)}}, nil
			}
			m, err := sqlarchive.Memoize(ctx, a, "area", area, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Call(ctx, shapeArgs{2, "sq"}); err != nil {
				t.Fatal(err)
			}
			const argsType = "github.com/klepto-sql/klepto/cmd/klepto-sql.shapeArgs{Side int; Label string `json:\"label\"`}"
			text := ok(t, "show", "area", "-db", dsn)
			if want := "result type    map[string][]float64\nargument type  " + argsType + "\n\nKEY"; !strings.HasPrefix(text, want) {
				t.Errorf("show:\n%s\nwant it to begin\n%s", text, want)
			}
			list := decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", dsn))
			if len(list) != 1 || list[0].ResultType != "map[string][]float64" || list[0].ArgsType != argsType {
				t.Errorf("ls -json = %+v; want the types of area", list)
			}

			ok(t, "create", "plain", "-db", dsn)
			if text := ok(t, "show", "plain", "-db", dsn); strings.Contains(text, "type") {
				t.Errorf("show of an archive made by create:\n%s", text)
			}
		})
	}
}

package sqlarchive

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// The janitor's DELETE finds expired entries through the index on
// expires_at, on every database.
func TestExpireSQLUsesIndex(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a, err := Open(ctx, db, &Options{Dialect: d})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if _, err := Table[int](ctx, a, "fib", &TableOptions{TTL: new(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		query, nargs := expireSQL(d, "fib", 100)
		args := make([]any, nargs)
		for i := range args {
			args[i] = d.TimeArg(time.Now())
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		explain := "EXPLAIN "
		switch d {
		case dialect.SQLite:
			explain = "EXPLAIN QUERY PLAN "
		case dialect.Postgres:
			// A table this small is cheaper to scan: forbid scans, to see
			// whether the index can serve the query.
			if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := conn.QueryContext(ctx, explain+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var plan []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var line []string
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				line = append(line, fmt.Sprint(v))
			}
			plan = append(plan, strings.Join(line, " "))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(plan, "\n"), dialect.IndexName("fib")) {
			t.Errorf("the plan of\n%s\ndoes not use %s:\n%s", query, dialect.IndexName("fib"), strings.Join(plan, "\n"))
		}
	})
}

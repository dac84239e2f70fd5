package sqlarchive_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// cookbookPath is the page of SQL queries that TestCookbook runs.
const cookbookPath = "../docs/sql.md"

// cookbookQuery is one query of the cookbook: a block of
// "```sql <database> <name>".
type cookbookQuery struct {
	db, name, sql string
	line          int
}

// readCookbook returns the queries of the cookbook, and fails the test on a
// block of SQL that names no database and query, which no test would run.
func readCookbook(t *testing.T) []cookbookQuery {
	t.Helper()
	f, err := os.Open(cookbookPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var queries []cookbookQuery
	var cur *cookbookQuery
	var body []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		switch {
		case cur != nil && strings.TrimSpace(text) == "```":
			cur.sql = strings.TrimSuffix(strings.TrimSpace(strings.Join(body, "\n")), ";")
			queries = append(queries, *cur)
			cur, body = nil, nil
		case cur != nil:
			body = append(body, text)
		case strings.HasPrefix(text, "```sql"):
			fields := strings.Fields(strings.TrimPrefix(text, "```"))
			if len(fields) != 3 {
				t.Fatalf("%s:%d: a block of SQL must be tagged ```sql <database> <query>, not %q", cookbookPath, line, text)
			}
			cur = &cookbookQuery{db: fields[1], name: fields[2], line: line}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: unterminated block", cookbookPath, cur.line)
	}
	return queries
}

// cookbookDialect maps the database tags of the cookbook to dialects.
var cookbookDialect = map[string]*dialect.Dialect{
	"sqlite": dialect.SQLite, "postgres": dialect.Postgres, "mysql": dialect.MySQL,
}

// fib returns the nth Fibonacci number.
func fib(n int) int {
	a, b := 0, 1
	for range n {
		a, b = b, a+b
	}
	return a
}

// The queries of docs/sql.md give the right answers on every database,
// and the session time zones that trap the wrong forms of "now" do not
// change them: on MySQL the session's time_zone is +05:00, on PostgreSQL
// its TimeZone is Asia/Karachi (UTC+5).
func TestCookbook(t *testing.T) {
	queries := readCookbook(t)
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			ctx := t.Context()
			db := sqltest.Open(t, d)
			now := time.Now().UTC()
			// The clock of the rows' writes; the database's own clock
			// decides what the queries count as expired.
			var clk atomic.Int64
			setClock := func(at time.Time) { clk.Store(at.UnixNano()) }
			clock := func() time.Time { return time.Unix(0, clk.Load()).UTC() }
			a := open(t, db, d, &sqlarchive.Options{Clock: clock})
			memo := table[int](t, a, "fib", &sqlarchive.TableOptions{TTL: new(time.Hour)})
			// Tables with other TTLs may share the table: never is one
			// whose entries never expire.
			never, err := sqltable.Open[int](ctx, db, "fib", &sqltable.Options{Dialect: d, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { never.Close() })
			type args struct{ N int }
			write := func(tbl *sqltable.Table[int], at time.Time, ns ...int) {
				setClock(at)
				for _, n := range ns {
					if err := tbl.PutArgs(ctx, keymap.NewKey(fmt.Sprintf("fib(%d)", n)), args{n}, fib(n)); err != nil {
						t.Fatal(err)
					}
				}
			}
			expiredAt := now.Add(-2 * time.Hour) // expired an hour ago
			write(memo, expiredAt, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
			write(memo, now, 11, 12, 13, 14, 15) // expire in an hour
			write(never, t0, 20, 21, 22)         // never expire
			for key, hits := range map[string]int{"fib(12)": 42, "fib(20)": 7, "fib(5)": 3} {
				if _, err := db.ExecContext(ctx, d.Rebind("UPDATE fib SET hits = ? WHERE key_text = ?"), hits, key); err != nil {
					t.Fatal(err)
				}
			}

			perDay := map[string]int{}
			perDay[expiredAt.Format(time.DateOnly)] += 10
			perDay[now.Format(time.DateOnly)] += 5
			perDay[t0.Format(time.DateOnly)] += 3
			var days [][]string
			for _, day := range slices.Sorted(maps.Keys(perDay)) {
				days = append(days, []string{day, strconv.Itoa(perDay[day])})
			}
			var results [][]string
			for _, n := range []int{11, 12, 13, 14, 15, 20, 21, 22} {
				results = append(results, []string{strconv.Itoa(n), strconv.Itoa(fib(n))})
			}
			want := map[string][][]string{
				"live":     {{"8"}},
				"expired":  {{"10"}},
				"top-hits": {{"fib(12)", "42"}, {"fib(20)", "7"}, {"fib(5)", "3"}},
				"biggest":  {{"fib(21)", "5"}, {"fib(22)", "5"}, {"fib(20)", "4"}},
				"per-day":  days,
				"results":  results,
			}
			// The wrong forms of "now": on SQLite datetime('now') finds
			// none of the entries that expired earlier today (UTC); on
			// MySQL NOW() at +05:00 counts the 5 live entries that expire
			// within the hour as expired too.
			switch d {
			case dialect.SQLite:
				if expiredAt.Add(time.Hour).Format(time.DateOnly) == now.Format(time.DateOnly) &&
					now.Add(time.Hour).Format(time.DateOnly) == now.Format(time.DateOnly) {
					want["wrong-expired"] = [][]string{{"0"}}
				}
			case dialect.MySQL:
				want["wrong-expired"] = [][]string{{"15"}}
			}

			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			switch d {
			case dialect.MySQL:
				_, err = conn.ExecContext(ctx, "SET time_zone = '+05:00'")
			case dialect.Postgres:
				_, err = conn.ExecContext(ctx, "SET TimeZone = 'Asia/Karachi'")
			}
			if err != nil {
				t.Fatal(err)
			}

			ran := map[string]bool{}
			for _, q := range queries {
				if cookbookDialect[q.db] == nil {
					t.Fatalf("%s:%d: unknown database %q", cookbookPath, q.line, q.db)
				}
				if cookbookDialect[q.db] != d {
					continue
				}
				if ran[q.name] {
					t.Errorf("%s:%d: a second %s query %q", cookbookPath, q.line, q.db, q.name)
				}
				ran[q.name] = true
				got, err := queryText(ctx, conn, q.sql)
				if err != nil {
					t.Errorf("%s:%d: %s: %v", cookbookPath, q.line, q.name, err)
					continue
				}
				w, ok := want[q.name]
				switch {
				case !ok && q.name == "wrong-expired":
					t.Logf("%s:%d: %s: not checked near midnight (UTC): got %q", cookbookPath, q.line, q.name, got)
				case !ok:
					t.Errorf("%s:%d: no expected answer for query %q", cookbookPath, q.line, q.name)
				case !reflect.DeepEqual(got, w):
					t.Errorf("%s:%d: %s = %q, want %q", cookbookPath, q.line, q.name, got, w)
				}
			}
			for name := range want {
				if !ran[name] {
					t.Errorf("%s has no %s query %q", cookbookPath, d.Name(), name)
				}
			}
		})
	}
}

// queryText runs query and returns its rows, each column as text: numbers
// in decimal, dates as 2006-01-02.
func queryText(ctx context.Context, conn *sql.Conn, query string) ([][]string, error) {
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var got [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				row[i] = "NULL"
			case []byte:
				row[i] = string(v)
			case time.Time:
				row[i] = v.Format(time.DateOnly)
			default:
				row[i] = fmt.Sprint(v)
			}
		}
		got = append(got, row)
	}
	return got, rows.Err()
}

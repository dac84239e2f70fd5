package integration

import (
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqltable"
)

// klepto's promise: close the program, start a new one, reload the function
// and its cache. The second process is served entirely from the database.
func TestRestart(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, d)
			cfg := config(db, "fib")
			cfg.Count = 40

			first := runChildOnce(t, cfg)
			if want := (cache.Info{Misses: 40, MaxSize: 1000, Size: 40}); first != want {
				t.Fatalf("first run: %+v, want %+v", first, want)
			}
			second := runChildOnce(t, cfg)
			if want := (cache.Info{Loads: 40, MaxSize: 1000, Size: 40}); second != want {
				t.Fatalf("second run: %+v, want %+v (every call served by the database)", second, want)
			}
		})
	}
}

// Two processes memoize one function into one table at the same time, one
// counting up and one counting down: each reuses the results of the other,
// with no error and no lost write.
func TestTwoProcesses(t *testing.T) {
	const n = 200
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, d)
			up := config(db, "fib")
			up.Count, up.Wait = n, true
			down := up
			down.From, down.Step = n-1, -1

			a, b := startChild(t, up), startChild(t, down)
			for _, c := range []*child{a, b} {
				if line := c.readLine(t); line != "ready\n" {
					t.Fatalf("child said %q, want ready", line)
				}
			}
			for _, c := range []*child{a, b} {
				if _, err := c.stdin.WriteString("go\n"); err != nil {
					t.Fatal(err)
				}
			}
			ia, ib := a.info(t), b.info(t)
			t.Logf("counting up: %+v; counting down: %+v", ia, ib)
			for name, info := range map[string]cache.Info{"up": ia, "down": ib} {
				if info.Misses+info.Loads+info.Hits != n {
					t.Errorf("%s: %+v does not account for %d calls", name, info, n)
				}
				if info.Loads == 0 {
					t.Errorf("%s reused none of the other process's results: %+v", name, info)
				}
			}
			if computed := ia.Misses + ib.Misses; computed >= 2*n {
				t.Errorf("the processes computed %d results between them, want fewer than %d", computed, 2*n)
			}

			table, err := sqltable.Open[int](t.Context(), db.DB, "fib", &sqltable.Options{Dialect: d})
			if err != nil {
				t.Fatal(err)
			}
			if rows, err := table.Len(t.Context()); err != nil || rows != n {
				t.Fatalf("the table holds %d rows, %v; want %d", rows, err, n)
			}
		})
	}
}

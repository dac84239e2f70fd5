package main

import (
	"strings"
	"testing"
)

// alter changes an archive's TTL, bounds and eviction order; ls and stats
// show them; bad input is refused and changes nothing.
func TestAlterCommand(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ok(t, "migrate", "up", "-db", dsn)
		ok(t, "create", "fib", "-db", dsn)
		for i := range 30 {
			ok(t, "put", "fib", "(n="+strings.Repeat("1", i+1)+")", "1", "-db", dsn)
		}
		got := decode[struct {
			Name       string  `json:"name"`
			TTLSeconds float64 `json:"ttl_seconds"`
			MaxEntries int64   `json:"max_entries"`
			MaxBytes   int64   `json:"max_bytes"`
			Evict      string  `json:"evict"`
		}](t, ok(t, "alter", "fib", "-max-entries", "20", "-evict", "lru", "-ttl", "1h", "-json", "-db", dsn))
		if got.Name != "fib" || got.TTLSeconds != 3600 || got.MaxEntries != 20 || got.MaxBytes != 0 || got.Evict != "lru" {
			t.Fatalf("alter -json = %+v", got)
		}
		if text := ok(t, "stats", "fib", "-db", dsn); !strings.Contains(text, "bounds   20 entries, evict lru\n") {
			t.Errorf("stats after alter:\n%s", text)
		}
		list := decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", dsn))
		if len(list) != 1 || list[0].MaxEntries != 20 || list[0].Evict != "lru" || list[0].TTLSeconds != 3600 {
			t.Errorf("ls -json after alter = %+v", list)
		}
		// The next write enforces the bound.
		ok(t, "put", "fib", "next", "1", "-db", dsn)
		if s := decode[map[string]any](t, ok(t, "stats", "fib", "-json", "-db", dsn)); s["rows"].(float64) > 20 {
			t.Errorf("%v rows after the next write, over 20", s["rows"])
		}
		text := ok(t, "alter", "fib", "-max-entries", "off", "-db", dsn)
		if !strings.Contains(text, "max_entries  -\n") || !strings.Contains(text, "ttl          1h0m0s\n") {
			t.Errorf("alter -max-entries off:\n%s", text)
		}
		fails(t, exitFailure, []string{"MaxBytes 100 is smaller than one eviction batch (4096 bytes)"}, "alter", "fib", "-max-bytes", "100", "-db", dsn)
		fails(t, exitFailure, []string{`no archive "nope" in`}, "alter", "nope", "-max-entries", "100", "-db", dsn)
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"alter", "fib"}, "alter: nothing to change"},
			{[]string{"alter", "fib", "-max-entries", "0"}, "0 is not a bound: it must be positive (off removes the bound)"},
			{[]string{"alter", "fib", "-max-bytes", "-5"}, "-5 is not a bound"},
			{[]string{"alter", "fib", "-max-entries", "many"}, `"many" is not a number, nor off`},
			{[]string{"alter", "fib", "-evict", "mru"}, `unknown eviction order "mru" (want lrs, lru or lfu)`},
			{[]string{"alter", "fib", "-ttl", "-1s"}, "-ttl must not be negative"},
		} {
			fails(t, exitUsage, []string{tc.want}, append(tc.args, "-db", dsn)...)
		}
		list = decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", dsn))
		if len(list) != 1 || list[0].MaxEntries != 0 || list[0].MaxBytes != 0 || list[0].Evict != "lru" {
			t.Errorf("bad input changed the archive: %+v", list)
		}
	})
}

// create takes the bounds and eviction order that alter changes.
func TestCreateBounds(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ok(t, "create", "fib", "-max-entries", "1000", "-max-bytes", "100000", "-evict", "lfu", "-db", dsn)
		list := decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", dsn))
		if len(list) != 1 || list[0].MaxEntries != 1000 || list[0].MaxBytes != 100000 || list[0].Evict != "lfu" {
			t.Fatalf("ls -json after create with bounds = %+v", list)
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"create", "g", "-max-entries", "0"}, "0 is not a bound: it must be positive"},
			{[]string{"create", "g", "-max-entries", "off"}, "a new archive has no bound to turn off"},
			{[]string{"create", "g", "-evict", "mru"}, `unknown eviction order "mru"`},
			{[]string{"create", "g", "-adopt", "-max-entries", "100"}, "-adopt takes no bound"},
		} {
			fails(t, exitUsage, []string{tc.want}, append(tc.args, "-db", dsn)...)
		}
		fails(t, exitFailure, []string{"MaxEntries 5 is smaller than one eviction batch"}, "create", "g", "-max-entries", "5", "-db", dsn)
		if list := decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", dsn)); len(list) != 1 {
			t.Errorf("refused creates left archives: %+v", list)
		}
	})
}

package main

import (
	"strings"
	"testing"
)

// import counts the entries it stores: two lines of one key are one
// entry, holding the value of the last.
func TestImportCountsStored(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		in := `{"key":"k","value":1}` + "\n" + `{"key":"k","value":2}` + "\n" + `{"key":"j","value":3}` + "\n"
		if got := okIn(t, in, "import", "fib", "-db", dsn); got != "imported 2 entries into fib\n" {
			t.Fatalf("import printed %q, want 2 entries", got)
		}
		if got := okIn(t, in, "import", "fib", "-json", "-db", dsn); got != `{"name":"fib","imported":2}`+"\n" {
			t.Fatalf("import -json printed %q, want 2 entries", got)
		}
		if got := ok(t, "get", "fib", "k", "-db", dsn); strings.TrimSpace(got) != "2" {
			t.Fatalf("get k = %q, want the last line's 2", got)
		}
	})
}

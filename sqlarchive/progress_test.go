package sqlarchive_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// The Progress callbacks of Copy and Dump count the entries as they go:
// their calls add up to the entries copied or written, Copy's a page (500
// entries) at a time, Dump's one at a time. Load's WriteProgress counts
// the entries written, a batch (1000) at a time, of the total.
func TestProgressCountsEntries(t *testing.T) {
	ctx := t.Context()
	src := copyOpen(t, sqltest.SQLite(t), dialect.SQLite)
	dst := copyOpen(t, sqltest.SQLite(t), dialect.SQLite)
	fib, err := sqlarchive.Table[int](ctx, src, "fib", nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1234
	entries := make([]cache.Entry[int], n)
	for i := range entries {
		entries[i] = cache.Entry[int]{Key: keymap.NewKey(fmt.Sprintf("(n=%d)", i)), Value: i}
	}
	if err := fib.PutMany(ctx, entries); err != nil {
		t.Fatal(err)
	}

	var pages []int
	res, err := sqlarchive.Copy(ctx, dst, src, "fib", &sqlarchive.CopyOptions{Progress: func(entries int) { pages = append(pages, entries) }})
	if err != nil || res.Entries != n {
		t.Fatalf("Copy = %+v, %v; want %d entries", res, err, n)
	}
	if want := []int{500, 500, 234}; !slices.Equal(pages, want) {
		t.Fatalf("Copy's Progress was called with %v, want %v", pages, want)
	}

	calls, sum := 0, 0
	var b bytes.Buffer
	dres, err := sqlarchive.Dump(ctx, dst, "fib", &b, &sqlarchive.DumpOptions{Progress: func(entries int) { calls, sum = calls+1, sum+entries }})
	if err != nil || dres.Entries != n {
		t.Fatalf("Dump = %+v, %v; want %d entries", dres, err, n)
	}
	if calls != n || sum != n {
		t.Fatalf("Dump's Progress: %d calls adding up to %d, want %d of 1", calls, sum, n)
	}

	// Load, with the last line twice: its writes count lines, in batches
	// of 1000.
	lines := strings.SplitAfter(b.String(), "\n")
	input := b.String() + "\n" + lines[len(lines)-2]
	var writes [][2]int
	readLines := 0
	loaded, err := sqlarchive.Load(ctx, dst, "fib_again", strings.NewReader(input), &sqlarchive.LoadOptions{
		Progress:      func(int) { readLines++ },
		WriteProgress: func(written, total int) { writes = append(writes, [2]int{written, total}) },
	})
	if err != nil || loaded != n {
		t.Fatalf("Load = %d, %v; want %d", loaded, err, n)
	}
	if want := [][2]int{{1000, n + 1}, {n + 1, n + 1}}; !slices.Equal(writes, want) || readLines != n+3 {
		t.Fatalf("Load's WriteProgress was called with %v, want %v; Progress %d times, want %d lines", writes, want, readLines, n+3)
	}
}

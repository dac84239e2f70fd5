package sqlarchive

import (
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/klepto-sql/klepto/internal/sqltest"
)

// Copy closes the tables it opens and forgets them: a long-running process
// that copies again and again holds nothing more each time.
func TestCopyForgetsItsTables(t *testing.T) {
	ctx := t.Context()
	src, err := Open(ctx, sqltest.SQLite(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := Open(ctx, sqltest.SQLite(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Table[int](ctx, src, "fib", nil); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := Copy(ctx, dst, src, "fib", nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(src.opened["fib"]); n != 1 {
		t.Errorf("the source tracks %d tables of fib, want 1 (the caller's)", n)
	}
	if n := len(dst.opened["fib"]); n != 0 {
		t.Errorf("the target tracks %d tables of fib, want 0", n)
	}
}

package archive_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/keymap"
)

// A write that waits for another process's lock gives up when its context
// ends, and writes nothing.
func TestFileLockHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memo.log")
	a, err := archive.OpenFile[int](path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	other := flock.New(path + ".lock") // another process's handle on the lock
	if err := other.Lock(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	k := keymap.NewKey("(1)")
	if err := a.Put(ctx, k, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put while another process holds the lock: %v, want context.DeadlineExceeded", err)
	}
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, found, err := a.Get(t.Context(), k); err != nil || found {
		t.Fatalf("Get after the abandoned Put = %v, %v; want not found", found, err)
	}
	if err := a.Put(t.Context(), k, 1); err != nil {
		t.Fatalf("Put once the lock is free: %v", err)
	}
}

package archive_test

import (
	"context"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// Errors of an operation on a key name the key, once, so that a memo over
// the archive adds only its operation; those about a file name the file.
// The messages are the subject of this test.
func TestErrorMessages(t *testing.T) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	dir := t.TempDir()
	file, err := archive.OpenFile[int](filepath.Join(dir, "memo.klepto"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := archive.OpenDir[int](filepath.Join(dir, "memo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	archives := map[string]cache.Archive[int]{
		"dict": archive.NewDict[int](), "null": archive.NewNull[int](), "file": file, "dir": d,
	}
	key := keymap.NewKey("(n=3)")
	for name, a := range archives {
		_, _, err := a.Get(canceled, key)
		if want := `archive: get "(n=3)": context canceled`; !errors.Is(err, context.Canceled) || err.Error() != want {
			t.Errorf("%s: Get on a canceled context: %v, want %s", name, err, want)
		}
		err = a.Put(canceled, key, 1)
		if want := `archive: put "(n=3)": context canceled`; !errors.Is(err, context.Canceled) || err.Error() != want {
			t.Errorf("%s: Put on a canceled context: %v, want %s", name, err, want)
		}
		long := keymap.NewKey(strings.Repeat("k", 100))
		err = a.Delete(canceled, long)
		if want := `archive: delete "` + strings.Repeat("k", 64) + `"… (100 bytes, sha256 ` + hex.EncodeToString(long.Hash[:8]) + `): context canceled`; err == nil || err.Error() != want {
			t.Errorf("%s: Delete of a long key: %v, want %s", name, err, want)
		}
	}

	anyFile, err := archive.OpenFile[any](filepath.Join(dir, "any.klepto"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer anyFile.Close()
	anyDir, err := archive.OpenDir[any](filepath.Join(dir, "any"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]cache.Archive[any]{"file": anyFile, "dir": anyDir} {
		err := a.Put(t.Context(), keymap.NewKey("(ch)"), make(chan int))
		if want := `archive: put "(ch)": encode the value: json: unsupported type: chan int`; err == nil || err.Error() != want {
			t.Errorf("%s: Put of a channel: %v, want %s", name, err, want)
		}
	}

	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, err = file.Get(t.Context(), key)
	if want := `archive: get "(n=3)": file is closed`; !errors.Is(err, archive.ErrClosed) || err.Error() != want {
		t.Errorf("Get after Close: %v, want %s", err, want)
	}
	_, err = archive.OpenFile[int](filepath.Join(dir, "x.klepto"), &archive.FileOptions{Codec: 7})
	if want := `archive: codec: invalid codec Codec(7)`; !errors.Is(err, archive.ErrInvalidOptions) || err.Error() != want {
		t.Errorf("OpenFile with an unknown codec: %v, want %s", err, want)
	}
}

// A 16 MB key makes errors under 1 KB that still name the key by the
// start of its text and of its hash.
func TestHugeKeyErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	dir := t.TempDir()
	file, err := archive.OpenFile[int](filepath.Join(dir, "memo.klepto"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	d, err := archive.OpenDir[int](filepath.Join(dir, "memo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	key := keymap.NewKey(strings.Repeat("k", 16<<20))
	for name, a := range map[string]cache.Archive[int]{"dict": archive.NewDict[int](), "file": file, "dir": d} {
		_, _, gerr := a.Get(canceled, key)
		for op, err := range map[string]error{"Get": gerr, "Put": a.Put(canceled, key, 1), "Delete": a.Delete(canceled, key)} {
			if err == nil {
				t.Fatalf("%s: %s with a canceled context succeeded", name, op)
			}
			msg := err.Error()
			if len(msg) >= 1024 || !strings.Contains(msg, strings.Repeat("k", 64)) || !strings.Contains(msg, hex.EncodeToString(key.Hash[:8])) {
				t.Errorf("%s: %s: error of %d bytes: %.300s; want under 1 KB, naming the key and its hash %x", name, op, len(msg), msg, key.Hash[:8])
			}
		}
	}
}

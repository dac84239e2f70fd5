package archive_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/archive/archivetest"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/keymap"
)

var (
	_ cache.Archive[int]    = (*archive.Dir[int])(nil)
	_ cache.Lister[int]     = (*archive.Dir[int])(nil)
	_ cache.ManyPutter[int] = (*archive.Dir[int])(nil)
)

func openDir[V any](tb testing.TB, dir string, opts *archive.DirOptions) *archive.Dir[V] {
	tb.Helper()
	d, err := archive.OpenDir[V](dir, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// TestDir runs the conformance suite once, on a Dir with the default
// options; TestDirRoundTrip covers the other codecs and compression.
func TestDir(t *testing.T) {
	archivetest.Run(t, func(t *testing.T) cache.Archive[point] {
		return openDir[point](t, filepath.Join(t.TempDir(), "memo"), nil)
	}, pointValue)
}

// Every codec, compressed or not, stores, reads, deletes and lists entries,
// and a Dir opened again on the directory with the default options reads
// them back: each entry names its codec and compression.
func TestDirRoundTrip(t *testing.T) {
	points := []point{pointValue(1), {X: -3, Tag: "<a> & <b>"}, {}}
	blobs := [][]byte{[]byte("<p>&amp;</p>"), {0, 0xff}, {}}
	tests := []struct {
		name string
		opts archive.DirOptions
	}{
		{"JSON", archive.DirOptions{}},
		{"JSON/gzip", archive.DirOptions{Compression: 6}},
		{"Gob", archive.DirOptions{Codec: codec.Gob}},
		{"Gob/gzip", archive.DirOptions{Codec: codec.Gob, Compression: 1}},
		{"Raw", archive.DirOptions{Codec: codec.Raw}},
		{"Raw/gzip", archive.DirOptions{Codec: codec.Raw, Compression: 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.opts.Codec == codec.Raw {
				dirRoundTrip(t, &tc.opts, blobs)
			} else {
				dirRoundTrip(t, &tc.opts, points)
			}
		})
	}
}

// dirRoundTrip puts values with Put and PutMany into a Dir with opts, reads
// them, deletes the first, and checks what a Dir opened again holds.
func dirRoundTrip[V any](t *testing.T, opts *archive.DirOptions, values []V) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "memo")
	d := openDir[V](t, dir, opts)
	keys := make([]keymap.Key, len(values))
	var rest []cache.Entry[V]
	for i, v := range values {
		keys[i] = keymap.NewKey(fmt.Sprintf("(n=%d)", i))
		if i > 0 {
			rest = append(rest, cache.Entry[V]{Key: keys[i], Value: v})
		}
	}
	if err := d.Put(ctx, keys[0], values[0]); err != nil {
		t.Fatal(err)
	}
	if err := d.PutMany(ctx, rest); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if v, found, err := d.Get(ctx, k); err != nil || !found || !reflect.DeepEqual(v, values[i]) {
			t.Fatalf("Get(%q) = %#v, %v, %v; want %#v", k.Text, v, found, err, values[i])
		}
	}
	if err := d.Delete(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}

	again := openDir[V](t, dir, nil)
	if v, found, err := again.Get(ctx, keys[0]); err != nil || found {
		t.Fatalf("Get of the deleted key after reopening = %#v, %v, %v", v, found, err)
	}
	want := make(map[string]V)
	for _, e := range rest {
		want[e.Key.Text] = e.Value
	}
	got := make(map[string]V)
	for e, err := range again.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got[e.Key.Text] = e.Value
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("All after reopening = %#v, want %#v", got, want)
	}
	mustLen(t, again, len(rest))
}

func TestOpenDirOptions(t *testing.T) {
	tests := []struct {
		name string
		open func(dir string) error
	}{
		{"unknown codec", func(dir string) error {
			_, err := archive.OpenDir[int](dir, &archive.DirOptions{Codec: 9})
			return err
		}},
		{"raw codec for strings", func(dir string) error {
			_, err := archive.OpenDir[string](dir, &archive.DirOptions{Codec: codec.Raw})
			return err
		}},
		{"compression 10", func(dir string) error {
			_, err := archive.OpenDir[int](dir, &archive.DirOptions{Compression: 10})
			return err
		}},
		{"compression -1", func(dir string) error {
			_, err := archive.OpenDir[int](dir, &archive.DirOptions{Compression: -1})
			return err
		}},
		{"mode with type bits", func(dir string) error {
			_, err := archive.OpenDir[int](dir, &archive.DirOptions{Perm: os.ModeSymlink | 0o644})
			return err
		}},
		{"a file in the way", func(dir string) error {
			if err := os.WriteFile(dir, nil, 0o644); err != nil {
				return nil
			}
			_, err := archive.OpenDir[int](dir, nil)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.open(filepath.Join(t.TempDir(), "memo"))
			if options := tc.name != "a file in the way"; err == nil || errors.Is(err, archive.ErrInvalidOptions) != options {
				t.Fatalf("OpenDir: %v; want an error that matches ErrInvalidOptions: %v", err, options)
			}
		})
	}
}

// entryPath is where the Dir doc says the entry for key lives.
func entryPath(dir string, key keymap.Key) string {
	h := hex.EncodeToString(key.Hash[:])
	return filepath.Join(dir, h[:2], h+".entry")
}

// Entry files are named from the key's hash alone, so keys that klepto's
// dir_archive confuses or cannot name get files of their own.
func TestDirLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "memo")
	d := openDir[string](t, dir, &archive.DirOptions{Perm: 0o600})
	keys := []string{"5", `"5"`, "(5,)", "a-b", "a_b", `C:\con\aux.txt`, "../escape", "tuple('x', \"y\")"}
	for _, k := range keys {
		if err := d.Put(t.Context(), keymap.NewKey(k), "value of "+k); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keys {
		path := entryPath(dir, keymap.NewKey(k))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("entry for %q: %v", k, err)
		}
		if !strings.HasPrefix(string(data), "KLEPTOE\x01") || !strings.Contains(string(data), k) {
			t.Fatalf("entry file %s = %q, want the magic and the key text", path, data)
		}
		if v, found, err := d.Get(t.Context(), keymap.NewKey(k)); err != nil || !found || v != "value of "+k {
			t.Fatalf("Get(%q) = %q, %v, %v", k, v, found, err)
		}
		fi := stat(t, path)
		sub := stat(t, filepath.Dir(path))
		if fi.Mode().Perm() != 0o600 || sub.Mode().Perm() != 0o700 {
			t.Fatalf("modes %v and %v, want 0600 for files and 0700 for directories", fi.Mode(), sub.Mode())
		}
	}
	mustLen(t, d, len(keys))
	seen := map[string]bool{}
	for e, err := range d.All(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		seen[e.Key.Text] = true
	}
	if len(seen) != len(keys) {
		t.Fatalf("All yielded %d keys, want %d", len(seen), len(keys))
	}
}

// Files that are not entries are ignored and left alone.
func TestDirForeignFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "memo")
	d := openDir[int](t, dir, nil)
	putInts(t, d, 0, 3)
	sub := filepath.Dir(entryPath(dir, intKey("n", 0)))
	foreign := []string{
		filepath.Join(dir, "README"),
		filepath.Join(sub, "notes.txt"),
		filepath.Join(sub, ".0123.tmp"),
		filepath.Join(sub, strings.Repeat("A", 64)+".entry"),
	}
	for _, p := range foreign {
		if err := os.WriteFile(p, []byte("not an entry"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "zz"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustLen(t, d, 3)
	if err := d.Clear(t.Context()); err != nil {
		t.Fatal(err)
	}
	mustLen(t, d, 0)
	for _, p := range foreign {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("Clear removed %s: %v", p, err)
		}
	}
}

// A damaged entry file makes Get of its key fail with an error naming the
// file; every other entry stays readable, and All stops at the damage.
func TestDirCorruptEntry(t *testing.T) {
	tests := []struct {
		name   string
		damage func(tb testing.TB, path string)
	}{
		{"flipped byte", func(tb testing.TB, path string) { flip(tb, path, 20) }},
		{"truncated", func(tb testing.TB, path string) { truncate(tb, path, -3) }},
		{"empty", func(tb testing.TB, path string) { truncate(tb, path, -stat(tb, path).Size()) }},
		{"foreign content", func(tb testing.TB, path string) {
			if err := os.WriteFile(path, []byte("hello, world, this is no entry file"), 0o644); err != nil {
				tb.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "memo")
			d := openDir[int](t, dir, &archive.DirOptions{Compression: 5})
			putInts(t, d, 0, 5)
			bad := entryPath(dir, intKey("n", 2))
			tc.damage(t, bad)

			_, _, err := d.Get(t.Context(), intKey("n", 2))
			var ce *archive.CorruptError
			if !errors.As(err, &ce) || ce.Path != bad || !strings.Contains(err.Error(), bad) {
				t.Fatalf("Get of a damaged entry: %v, want a *CorruptError naming %s", err, bad)
			}
			checkInts(t, d, 0, 2)
			checkInts(t, d, 3, 5)
			mustLen(t, d, 5)
			var allErr error
			for _, err := range d.All(t.Context()) {
				if err != nil {
					allErr = err
				}
			}
			if !errors.As(allErr, &ce) || ce.Path != bad {
				t.Fatalf("All ended with %v, want the *CorruptError for %s", allErr, bad)
			}
			// Rewriting the entry repairs it.
			putInts(t, d, 2, 3)
			checkInts(t, d, 0, 5)
		})
	}
}

func TestDirCompression(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "memo")
	z := openDir[string](t, dir, &archive.DirOptions{Compression: 9})
	plain := openDir[string](t, dir, nil)
	big, k := strings.Repeat("compressible ", 1000), keymap.NewKey("big")
	if err := z.Put(t.Context(), k, big); err != nil {
		t.Fatal(err)
	}
	if size := stat(t, entryPath(dir, k)).Size(); size > int64(len(big)/10) {
		t.Fatalf("compressed entry holds %d bytes for a %d-byte value", size, len(big))
	}
	// Each entry names its compression: a Dir without it reads it.
	if v, _, err := plain.Get(t.Context(), k); err != nil || v != big {
		t.Fatalf("Get through an uncompressed Dir: %.20q…, %v", v, err)
	}
	if err := plain.Put(t.Context(), k, big+"!"); err != nil {
		t.Fatal(err)
	}
	if v, _, err := z.Get(t.Context(), k); err != nil || v != big+"!" {
		t.Fatalf("Get through a compressing Dir: %.20q…, %v", v, err)
	}
}

func TestDirCanceled(t *testing.T) {
	testCanceled(t, openDir[int](t, filepath.Join(t.TempDir(), "memo"), nil))
}

// Many goroutines delete and rewrite one key at once: deletes of an entry
// another one removed first are not errors.
func TestDirConcurrentDeletes(t *testing.T) {
	d := openDir[int](t, filepath.Join(t.TempDir(), "memo"), nil)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				var err error
				if (w+i)%2 == 0 {
					err = d.Put(ctx, intKey("n", 0), 0)
				} else {
					err = d.Delete(ctx, intKey("n", 0))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A memo in write-back mode reaches the directory on eviction and Dump.
func TestDirMemoWriteBack(t *testing.T) {
	d := openDir[int](t, filepath.Join(t.TempDir(), "memo"), nil)
	for round, want := range []cache.Info{
		{Misses: 10, MaxSize: 4, Size: 4},
		{Loads: 10, MaxSize: 4, Size: 4},
	} {
		info, err := memoRun(t.Context(), d, 10, true)
		if err != nil {
			t.Fatal(err)
		}
		if info != want {
			t.Fatalf("round %d: Info() = %+v, want %+v", round, info, want)
		}
	}
	mustLen(t, d, 10)
}

// OpenDir and Clear remove the temporary files that dead writers left,
// once they are StaleTempAge old, and nothing else: not a younger one,
// which a live writer may be about to rename, nor files that are not
// temporary entry files.
func TestDirRemovesStaleTemps(t *testing.T) {
	for _, how := range []string{"open", "clear"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			d := openDir[int](t, dir, nil)
			key := keymap.NewKey("(n=1)")
			if err := d.Put(t.Context(), key, 1); err != nil {
				t.Fatal(err)
			}
			entry := entryPath(dir, key)
			sub, hexName := filepath.Dir(entry), strings.TrimSuffix(filepath.Base(entry), ".entry")
			old := time.Now().Add(-archive.StaleTempAge - time.Minute)
			files := map[string]bool{ // name: stays
				"." + hexName + ".1a2b3c.tmp": false, // stale
				"." + hexName + ".4d5e6f.tmp": true,  // fresh
				"." + hexName + ".tmpx":       true,  // not a temporary file
				"notes.txt":                   true,
			}
			for name := range files {
				p := filepath.Join(sub, name)
				if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
					t.Fatal(err)
				}
				if name != "."+hexName+".4d5e6f.tmp" {
					if err := os.Chtimes(p, old, old); err != nil {
						t.Fatal(err)
					}
				}
			}
			switch how {
			case "open":
				openDir[int](t, dir, nil)
			case "clear":
				if err := d.Clear(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			for name, stays := range files {
				_, err := os.Stat(filepath.Join(sub, name))
				if exists := err == nil; exists != stays {
					t.Errorf("after %s, %s exists: %v, want %v", how, name, exists, stays)
				}
			}
			if v, found, err := d.Get(t.Context(), key); how == "open" && (err != nil || !found || v != 1) {
				t.Errorf("Get after OpenDir = %d, %v, %v; want the entry kept", v, found, err)
			}
		})
	}
}

// Writers killed in the middle of their writes leave temporary files;
// once they are StaleTempAge old (here, made so), OpenDir removes them all,
// and every entry the writers reported stays readable.
func TestKilledDirWritersLeaveNoTemps(t *testing.T) {
	path := archivePath(t, "dir")
	temps := func() []string {
		t.Helper()
		found, err := filepath.Glob(filepath.Join(path, "??", ".*.tmp"))
		if err != nil {
			t.Fatal(err)
		}
		return found
	}
	// Kill writers until one dies between creating its temporary file and
	// renaming it.
	const reported, tries = 3, 100
	var left []string
	for try := 0; try < tries && len(left) == 0; try++ {
		h := startHelper(t, "loop", "dir", path)
		for i := range reported {
			if l := h.line(t); l != strconv.Itoa(i) {
				t.Fatalf("helper said %q, want %d", l, i)
			}
		}
		if err := h.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		h.cmd.Wait()
		left = temps()
	}
	if len(left) == 0 {
		t.Skipf("none of %d killed writers left a temporary file", tries)
	}
	old := time.Now().Add(-archive.StaleTempAge)
	for _, p := range left {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	d := openDir[int](t, path, nil)
	if after := temps(); len(after) != 0 {
		t.Fatalf("OpenDir left %d of the %d temporary files of killed writers: %v", len(after), len(left), after)
	}
	for i := range reported {
		if v, found, err := d.Get(t.Context(), intKey("loop", i)); err != nil || !found || v != i {
			t.Fatalf("Get(loop%d) = %d, %v, %v; want %d", i, v, found, err, i)
		}
	}
}

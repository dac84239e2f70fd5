package archive_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/archive/archivetest"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/keymap"
)

var (
	_ cache.Archive[int]    = (*archive.File[int])(nil)
	_ cache.Lister[int]     = (*archive.File[int])(nil)
	_ cache.ManyPutter[int] = (*archive.File[int])(nil)
)

func pointValue(i int) point { return point{X: i, Y: -i, Tag: fmt.Sprint("p", i)} }

// openFile opens a File at path and closes it when the test ends.
func openFile[V any](tb testing.TB, path string, opts *archive.FileOptions) *archive.File[V] {
	tb.Helper()
	f, err := archive.OpenFile[V](path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := f.Close(); err != nil {
			tb.Error(err)
		}
	})
	return f
}

func TestFile(t *testing.T) {
	tests := []struct {
		name  string
		codec codec.Codec
	}{
		{"JSON", codec.JSON},
		{"Gob", codec.Gob},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			archivetest.Run(t, func(t *testing.T) cache.Archive[point] {
				return openFile[point](t, filepath.Join(t.TempDir(), "memo.klepto"), &archive.FileOptions{Codec: tc.codec})
			}, pointValue)
		})
	}
	t.Run("Raw", func(t *testing.T) {
		t.Parallel()
		archivetest.Run(t, func(t *testing.T) cache.Archive[[]byte] {
			return openFile[[]byte](t, filepath.Join(t.TempDir(), "memo.klepto"), &archive.FileOptions{Codec: codec.Raw})
		}, func(i int) []byte { return []byte(strconv.Itoa(i)) })
	})
}

func TestOpenFileOptions(t *testing.T) {
	tests := []struct {
		name string
		open func(path string) error
	}{
		{"unknown codec", func(path string) error {
			_, err := archive.OpenFile[int](path, &archive.FileOptions{Codec: 7})
			return err
		}},
		{"raw codec for ints", func(path string) error {
			_, err := archive.OpenFile[int](path, &archive.FileOptions{Codec: codec.Raw})
			return err
		}},
		{"mode with type bits", func(path string) error {
			_, err := archive.OpenFile[int](path, &archive.FileOptions{Perm: os.ModeDir | 0o755})
			return err
		}},
		{"missing directory", func(path string) error {
			_, err := archive.OpenFile[int](filepath.Join(path, "no", "such", "dir"), nil)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.open(filepath.Join(t.TempDir(), "memo.klepto"))
			if options := tc.name != "missing directory"; errors.Is(err, archive.ErrInvalidOptions) != options {
				t.Fatalf("OpenFile: %v; want it to match ErrInvalidOptions: %v", err, options)
			}
			if !errors.Is(err, archive.ErrInvalidOptions) && !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("OpenFile: %v, want fs.ErrNotExist", err)
			}
		})
	}
}

// A file that is not an archive is neither opened nor changed.
func TestOpenFileForeign(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"text", "hello, world\n", "is not a file archive"},
		{"short", "KLX", "is not a file archive"},
		{"future version", "KLEPTOL\x07", "has format version 7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "memo.klepto")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := archive.OpenFile[int](path, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("OpenFile: %v, want an error naming %s that says %q", err, path, tc.want)
			}
			if got, _ := os.ReadFile(path); string(got) != tc.content {
				t.Fatalf("OpenFile changed the file to %q", got)
			}
		})
	}
}

// A crash while the file was being created leaves a prefix of the header,
// which OpenFile completes.
func TestOpenFileHeaderPrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memo.klepto")
	if err := os.WriteFile(path, []byte("KLEP"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := openFile[int](t, path, nil)
	putInts(t, f, 0, 3)
	checkInts(t, f, 0, 3)
}

// A compaction whose process died leaves a temporary file, which the next
// OpenFile removes: it holds the lock, so no compaction is under way.
func TestOpenFileRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "memo.klepto")
	stale := path + ".compact.1x2y3z.tmp"
	other := filepath.Join(dir, "other.klepto.compact.1x2y3z.tmp")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("half a compaction"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	openFile[int](t, path, nil)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file: %v, want it removed", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another archive's temporary file: %v, want it kept", err)
	}
}

func TestFilePerm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memo.klepto")
	f := openFile[int](t, path, &archive.FileOptions{Perm: 0o600})
	putInts(t, f, 0, 1)
	for _, p := range []string{path, path + ".lock"} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("Stat(%s) = %v, %v; want mode 0600", p, fi.Mode(), err)
		}
	}
}

func intKey(prefix string, i int) keymap.Key { return keymap.NewKey(prefix + strconv.Itoa(i)) }

// putInts puts keys n<i> = i for i in [from, to).
func putInts(tb testing.TB, a cache.Archive[int], from, to int) {
	tb.Helper()
	for i := from; i < to; i++ {
		if err := a.Put(context.Background(), intKey("n", i), i); err != nil {
			tb.Fatalf("Put(n%d): %v", i, err)
		}
	}
}

// checkInts checks that keys n<i> hold i for i in [from, to).
func checkInts(tb testing.TB, a cache.Archive[int], from, to int) {
	tb.Helper()
	for i := from; i < to; i++ {
		v, found, err := a.Get(context.Background(), intKey("n", i))
		if err != nil || !found || v != i {
			tb.Fatalf("Get(n%d) = %d, %v, %v; want %d", i, v, found, err, i)
		}
	}
}

// checkMissing checks that keys n<i> are absent for i in [from, to).
func checkMissing(tb testing.TB, a cache.Archive[int], from, to int) {
	tb.Helper()
	for i := from; i < to; i++ {
		v, found, err := a.Get(context.Background(), intKey("n", i))
		if err != nil || found {
			tb.Fatalf("Get(n%d) = %d, %v, %v; want not found", i, v, found, err)
		}
	}
}

func mustLen(tb testing.TB, a interface {
	Len(context.Context) (int, error)
}, want int) {
	tb.Helper()
	if n, err := a.Len(context.Background()); err != nil || n != want {
		tb.Fatalf("Len = %d, %v; want %d", n, err, want)
	}
}

func TestFileReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memo.klepto")
	f, err := archive.OpenFile[int](path, nil)
	if err != nil {
		t.Fatal(err)
	}
	putInts(t, f, 0, 20)
	if err := f.Delete(t.Context(), intKey("n", 3)); err != nil {
		t.Fatal(err)
	}
	if err := f.Put(t.Context(), intKey("n", 4), 44); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	g := openFile[int](t, path, nil)
	mustLen(t, g, 19)
	checkInts(t, g, 0, 3)
	checkMissing(t, g, 3, 4)
	if v, _, _ := g.Get(t.Context(), intKey("n", 4)); v != 44 {
		t.Fatalf("Get(n4) = %d after reopening, want 44", v)
	}
	checkInts(t, g, 5, 20)
}

func TestFileClosed(t *testing.T) {
	ctx := t.Context()
	f, err := archive.OpenFile[int](filepath.Join(t.TempDir(), "memo.klepto"), nil)
	if err != nil {
		t.Fatal(err)
	}
	putInts(t, f, 0, 1)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	k := intKey("n", 0)
	_, _, getErr := f.Get(ctx, k)
	_, lenErr := f.Len(ctx)
	var allErr error
	for _, err := range f.All(ctx) {
		allErr = err
	}
	for name, err := range map[string]error{
		"Get":     getErr,
		"Put":     f.Put(ctx, k, 1),
		"PutMany": f.PutMany(ctx, []cache.Entry[int]{{Key: k, Value: 1}}),
		"Delete":  f.Delete(ctx, k),
		"Len":     lenErr,
		"Clear":   f.Clear(ctx),
		"All":     allErr,
	} {
		if !errors.Is(err, archive.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

// Every method given a canceled context returns its error and changes
// nothing (archivetest checks Get, Put and Delete).
func TestFileCanceled(t *testing.T) {
	f := openFile[int](t, filepath.Join(t.TempDir(), "memo.klepto"), nil)
	testCanceled(t, f)
}

func testCanceled(t *testing.T, a interface {
	cache.Archive[int]
	cache.Lister[int]
	cache.ManyPutter[int]
	Len(context.Context) (int, error)
	Clear(context.Context) error
}) {
	putInts(t, a, 0, 3)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := a.PutMany(ctx, []cache.Entry[int]{{Key: intKey("n", 7), Value: 7}}); !errors.Is(err, context.Canceled) {
		t.Errorf("PutMany: %v, want context.Canceled", err)
	}
	if err := a.Clear(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Clear: %v, want context.Canceled", err)
	}
	if _, err := a.Len(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Len: %v, want context.Canceled", err)
	}
	n := 0
	for e, err := range a.All(ctx) {
		if n++; !errors.Is(err, context.Canceled) {
			t.Errorf("All yielded %v, %v; want context.Canceled", e, err)
		}
	}
	if n != 1 {
		t.Errorf("All yielded %d times, want once", n)
	}
	mustLen(t, a, 3)
	checkInts(t, a, 0, 3)
	checkMissing(t, a, 7, 8)
}

// Two Files open on one path, as in two processes: each sees the other's
// writes, deletes, clears and compactions.
func TestFileSharedPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memo.klepto")
	a := openFile[int](t, path, nil)
	b, err := archive.OpenFile[int](path, nil)
	if err != nil {
		t.Fatal(err)
	}
	putInts(t, a, 0, 10)
	checkInts(t, b, 0, 10)
	mustLen(t, b, 10)

	if err := b.Delete(t.Context(), intKey("n", 0)); err != nil {
		t.Fatal(err)
	}
	if err := b.PutMany(t.Context(), []cache.Entry[int]{{Key: intKey("n", 1), Value: 1}, {Key: intKey("n", 10), Value: 10}}); err != nil {
		t.Fatal(err)
	}
	checkMissing(t, a, 0, 1)
	checkInts(t, a, 1, 11)

	// b overwrote a key, so it leaves a dead record: Close compacts, and a
	// reloads the new file.
	before := stat(t, path)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	after := stat(t, path)
	if os.SameFile(before, after) || after.Size() >= before.Size() {
		t.Fatalf("Close did not compact: size %d before, %d after", before.Size(), after.Size())
	}
	checkInts(t, a, 1, 11)
	mustLen(t, a, 10)
	putInts(t, a, 11, 12)

	c := openFile[int](t, path, nil)
	checkInts(t, c, 1, 12)
	if err := c.Clear(t.Context()); err != nil {
		t.Fatal(err)
	}
	mustLen(t, a, 0)
	checkMissing(t, a, 0, 12)
	putInts(t, a, 20, 21)
	checkInts(t, c, 20, 21)
	assertNoCorruption(t, a)
	assertNoCorruption(t, c)
}

func stat(tb testing.TB, path string) os.FileInfo {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi
}

func assertNoCorruption(tb testing.TB, f interface{ Corruption() error }) {
	tb.Helper()
	if err := f.Corruption(); err != nil {
		tb.Fatalf("Corruption() = %v, want nil", err)
	}
}

// Writes compact the file once dead records fill 1 MiB and outweigh the
// live ones; readers keep their view.
func TestFileCompactsOnWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memo.klepto")
	f := openFile[string](t, path, nil)
	g := openFile[string](t, path, nil)
	ctx := t.Context()
	big := strings.Repeat("x", 300<<10)
	small := keymap.NewKey("small")
	if err := f.Put(ctx, small, "kept"); err != nil {
		t.Fatal(err)
	}
	k := keymap.NewKey("big")
	prev := stat(t, path)
	compacted := false
	for i := range 8 {
		if err := f.Put(ctx, k, big+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		if v, _, err := g.Get(ctx, k); err != nil || v != big+strconv.Itoa(i) {
			t.Fatalf("round %d: Get from the other handle: %.10q…, %v", i, v, err)
		}
		fi := stat(t, path)
		if !os.SameFile(fi, prev) {
			compacted = true
			if fi.Size() > 300<<10+1000 {
				t.Fatalf("compacted file holds %d bytes, want about one value", fi.Size())
			}
		}
		prev = fi
	}
	if !compacted {
		t.Fatal("eight 300 KiB overwrites did not compact the file")
	}
	if v, _, err := g.Get(ctx, small); err != nil || v != "kept" {
		t.Fatalf("Get(small) = %q, %v after compaction", v, err)
	}
}

// Records of a file, as the format in File's doc lays them out.
func records(tb testing.TB, path string) []int64 {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var offs []int64
	for off := int64(8); off+12 <= int64(len(data)); {
		offs = append(offs, off)
		off += 12 + int64(binary.LittleEndian.Uint32(data[off:]))
	}
	return offs
}

// patch overwrites the bytes of the file at path at off with p.
func patch(tb testing.TB, path string, off int64, p []byte) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(p, off); err != nil {
		tb.Fatal(err)
	}
}

// writeInts makes a file holding keys n0 … n(n-1) and returns the offsets
// of their records.
func writeInts(tb testing.TB, path string, n int) []int64 {
	tb.Helper()
	f, err := archive.OpenFile[int](path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	putInts(tb, f, 0, n)
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return records(tb, path)
}

// A crash in the middle of a write leaves a torn last record, or garbage
// after the last one: the file opens with every completed write, reports
// no damage, and the next write compacts the tail away.
func TestFileTornTail(t *testing.T) {
	tests := []struct {
		name    string
		tear    func(tb testing.TB, path string)
		survive int // of the 5 records
	}{
		{"truncated by 3 bytes", func(tb testing.TB, path string) { truncate(tb, path, -3) }, 4},
		{"truncated in the header", func(tb testing.TB, path string) {
			offs := records(tb, path)
			truncate(tb, path, offs[4]+5-stat(tb, path).Size())
		}, 4},
		{"garbage appended", func(tb testing.TB, path string) {
			appendBytes(tb, path, []byte("\x13garbage\xff\x00 from a crashed writer"))
		}, 5},
		{"zeros appended", func(tb testing.TB, path string) { appendBytes(tb, path, make([]byte, 4096)) }, 5},
		{"last body zeroed", func(tb testing.TB, path string) {
			offs := records(tb, path)
			patch(tb, path, offs[4]+12, make([]byte, stat(tb, path).Size()-offs[4]-12))
		}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "memo.klepto")
			writeInts(t, path, 5)
			tc.tear(t, path)
			f := openFile[int](t, path, nil)
			mustLen(t, f, tc.survive)
			checkInts(t, f, 0, tc.survive)
			checkMissing(t, f, tc.survive, 5)
			assertNoCorruption(t, f)

			torn := stat(t, path)
			putInts(t, f, 10, 11)
			if fi := stat(t, path); os.SameFile(fi, torn) {
				t.Fatal("a write after a torn tail appended instead of compacting")
			}
			g := openFile[int](t, path, nil)
			checkInts(t, g, 0, tc.survive)
			checkInts(t, g, 10, 11)
			mustLen(t, g, tc.survive+1)
			assertNoCorruption(t, g)
		})
	}
}

func truncate(tb testing.TB, path string, by int64) {
	tb.Helper()
	if err := os.Truncate(path, stat(tb, path).Size()+by); err != nil {
		tb.Fatal(err)
	}
}

func appendBytes(tb testing.TB, path string, p []byte) {
	tb.Helper()
	patch(tb, path, stat(tb, path).Size(), p)
}

// Damage in the middle of the file is skipped and reported with the file
// and the offset; every other entry stays readable.
func TestFileCorruptRecord(t *testing.T) {
	tests := []struct {
		name string
		at   int64 // offset within record 2
	}{
		{"body", 12 + 40},
		{"body checksum", 5},
		{"length", 1},
		{"header checksum", 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "memo.klepto")
			offs := writeInts(t, path, 5)
			flip(t, path, offs[2]+tc.at)

			f := openFile[int](t, path, nil)
			checkInts(t, f, 0, 2)
			checkMissing(t, f, 2, 3)
			checkInts(t, f, 3, 5)
			mustLen(t, f, 4)
			var ce *archive.CorruptError
			err := f.Corruption()
			if !errors.As(err, &ce) || ce.Path != path || ce.Offset != offs[2] {
				t.Fatalf("Corruption() = %v, want a *CorruptError for %s at offset %d", err, path, offs[2])
			}
			for _, want := range []string{path, "offset " + strconv.FormatInt(offs[2], 10)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}

			// Writes go on, and a compaction drops the damaged record.
			putInts(t, f, 5, 6)
			if err := f.Clear(t.Context()); err != nil {
				t.Fatal(err)
			}
			g := openFile[int](t, path, nil)
			assertNoCorruption(t, g)
		})
	}
}

func flip(tb testing.TB, path string, off int64) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	patch(tb, path, off, []byte{data[off] ^ 0x55})
}

// A record damaged after the File read the index makes Get fail with an
// error naming the file and offset; the other keys stay readable.
func TestFileCorruptAfterOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memo.klepto")
	f := openFile[int](t, path, nil)
	putInts(t, f, 0, 3)
	offs := records(t, path)
	flip(t, path, offs[1]+20)
	_, _, err := f.Get(t.Context(), intKey("n", 1))
	var ce *archive.CorruptError
	if !errors.As(err, &ce) || ce.Path != path || ce.Offset != offs[1] {
		t.Fatalf("Get of a damaged record: %v, want a *CorruptError for %s at offset %d", err, path, offs[1])
	}
	checkInts(t, f, 0, 1)
	checkInts(t, f, 2, 3)
	for _, err := range f.All(t.Context()) {
		if !errors.As(err, &ce) {
			continue
		}
		return // All stops at the damaged record
	}
	t.Fatal("All did not yield the damaged record's error")
}

// A memo in write-back mode reaches the file on eviction and Dump.
func TestFileMemoWriteBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memo.klepto")
	f := openFile[int](t, path, nil)
	for round, want := range []cache.Info{
		{Misses: 10, MaxSize: 4, Size: 4},
		{Loads: 10, MaxSize: 4, Size: 4},
	} {
		info, err := memoRun(t.Context(), f, 10, true)
		if err != nil {
			t.Fatal(err)
		}
		if info != want {
			t.Fatalf("round %d: Info() = %+v, want %+v", round, info, want)
		}
	}
	mustLen(t, f, 10)
}

// memoRun memoizes square over a, calls it for 0 … n-1, dumps memory in
// write-back mode, and returns the counts.
func memoRun(ctx context.Context, a cache.Archive[int], n int, writeBack bool) (cache.Info, error) {
	square := func(_ context.Context, x int) (int, error) { return x * x, nil }
	m, err := cache.Memoize(square, &cache.MemoOptions[int]{Archive: a, WriteBack: writeBack, MaxSize: 4})
	if err != nil {
		return cache.Info{}, err
	}
	for x := range n {
		if v, err := m.Call(ctx, x); err != nil || v != x*x {
			return cache.Info{}, fmt.Errorf("Call(%d) = %d, %v", x, v, err)
		}
	}
	if writeBack {
		if err := m.Dump(ctx); err != nil {
			return cache.Info{}, err
		}
	}
	return m.Info(), nil
}

// Multi-process tests. The test binary runs itself as the other processes:
// helperEnv makes TestHelperProcess act as one, with the arguments after
// "--" on its command line.

const helperEnv = "KLEPTO_ARCHIVE_TEST_HELPER"

// TestHelperProcess is a helper process, not a test: it runs when a
// multi-process test starts the test binary with helperEnv set.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("a helper process for the multi-process tests")
	}
	args := os.Args[slices.Index(os.Args, "--")+1:]
	if err := runHelper(args, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "helper %q: %v\n", args, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runHelper runs one helper process: args are a command, the archive kind
// (file or dir), its path, and the command's arguments.
//
//	memo KIND PATH N WRITEBACK  memoize square over 0 … N-1; print the Info as JSON
//	put  KIND PATH ID N         print "ready", wait for a line, make N puts
//	loop KIND PATH              put loop<i> = i for i = 0, 1, …, printing i after each
func runHelper(args []string, in io.Reader, out io.Writer) (err error) {
	if len(args) < 3 {
		return errors.New("want COMMAND KIND PATH ARGS…")
	}
	a, closeArchive, err := openIntArchive(args[1], args[2])
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeArchive()) }()
	ctx := context.Background()
	num := func(i int) int {
		n, err := strconv.Atoi(args[i])
		if err != nil {
			panic(err)
		}
		return n
	}
	switch args[0] {
	case "memo":
		info, err := memoRun(ctx, a, num(3), args[4] == "true")
		if err != nil {
			return err
		}
		return json.NewEncoder(out).Encode(info)
	case "put":
		id, n := num(3), num(4)
		fmt.Fprintln(out, "ready")
		if _, err := bufio.NewReader(in).ReadString('\n'); err != nil {
			return err
		}
		for i := range n {
			k, v := workerKey(id, i), id*1000+i
			if i%4 == 3 {
				k, v = sharedKey(i), id
			}
			if err := a.Put(ctx, k, v); err != nil {
				return err
			}
		}
		return nil
	case "loop":
		for i := 0; ; i++ {
			if err := a.Put(ctx, intKey("loop", i), i); err != nil {
				return err
			}
			if _, err := fmt.Fprintln(out, i); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func workerKey(id, i int) keymap.Key { return keymap.NewKey(fmt.Sprintf("w%d/%d", id, i)) }
func sharedKey(i int) keymap.Key     { return keymap.NewKey(fmt.Sprintf("shared/%d", i/4%10)) }

// intArchive is what the multi-process tests use of a File or a Dir.
type intArchive interface {
	cache.Archive[int]
	Len(context.Context) (int, error)
}

func openIntArchive(kind, path string) (intArchive, func() error, error) {
	switch kind {
	case "file":
		f, err := archive.OpenFile[int](path, nil)
		if err != nil {
			return nil, nil, err
		}
		return f, f.Close, nil
	case "dir":
		d, err := archive.OpenDir[int](path, nil)
		return d, func() error { return nil }, err
	}
	return nil, nil, fmt.Errorf("unknown archive kind %q", kind)
}

// archivePath returns where the tests keep an archive of kind.
func archivePath(t *testing.T, kind string) string {
	return filepath.Join(t.TempDir(), "memo."+kind)
}

// helper is a running helper process.
type helper struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Scanner
	stderr bytes.Buffer
}

// startHelper starts a helper process with args.
func startHelper(t *testing.T, args ...string) *helper {
	t.Helper()
	h := &helper{cmd: exec.CommandContext(t.Context(), os.Args[0], append([]string{"-test.run=^TestHelperProcess$", "--"}, args...)...)}
	h.cmd.Env = append(os.Environ(), helperEnv+"=1")
	h.cmd.Stderr = &h.stderr
	var err error
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	h.stdout = bufio.NewScanner(stdout)
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return h
}

// line returns the next line the helper prints.
func (h *helper) line(t *testing.T) string {
	t.Helper()
	if !h.stdout.Scan() {
		t.Fatalf("helper %v printed no line (%v); stderr:\n%s", h.cmd.Args, h.stdout.Err(), h.stderr.Bytes())
	}
	return h.stdout.Text()
}

// wait waits for the helper to exit and fails the test if it failed.
func (h *helper) wait(t *testing.T) {
	t.Helper()
	for h.stdout.Scan() {
	}
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("helper %v: %v; stderr:\n%s", h.cmd.Args, err, h.stderr.Bytes())
	}
}

var kinds = []string{"file", "dir"}

// A memoizing program run twice, as two processes: the second run is
// served from the archive alone, in write-through and write-back modes.
func TestRestart(t *testing.T) {
	const n = 12
	for _, kind := range kinds {
		for _, writeBack := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/writeBack=%v", kind, writeBack), func(t *testing.T) {
				t.Parallel()
				path := archivePath(t, kind)
				for run, want := range []cache.Info{
					{Misses: n, MaxSize: 4, Size: 4},
					{Loads: n, MaxSize: 4, Size: 4},
				} {
					h := startHelper(t, "memo", kind, path, strconv.Itoa(n), strconv.FormatBool(writeBack))
					var got cache.Info
					if err := json.Unmarshal([]byte(h.line(t)), &got); err != nil {
						t.Fatal(err)
					}
					h.wait(t)
					if got != want {
						t.Fatalf("run %d: Info() = %+v, want %+v", run+1, got, want)
					}
				}
			})
		}
	}
}

// Four processes write at once, to keys of their own and to shared keys;
// afterwards every entry is there.
func TestManyProcesses(t *testing.T) {
	const procs, puts = 4, 200
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			path := archivePath(t, kind)
			a, closeArchive, err := openIntArchive(kind, path)
			if err != nil {
				t.Fatal(err)
			}
			defer closeArchive()
			hs := make([]*helper, procs)
			for id := range procs {
				hs[id] = startHelper(t, "put", kind, path, strconv.Itoa(id), strconv.Itoa(puts))
			}
			for _, h := range hs {
				if l := h.line(t); l != "ready" {
					t.Fatalf("helper said %q, want ready", l)
				}
			}
			for _, h := range hs { // all start writing at once
				if _, err := io.WriteString(h.stdin, "go\n"); err != nil {
					t.Fatal(err)
				}
			}
			for _, h := range hs {
				h.wait(t)
			}
			ctx := t.Context()
			for id := range procs {
				for i := range puts {
					k, want := workerKey(id, i), id*1000+i
					if i%4 == 3 {
						continue
					}
					if v, found, err := a.Get(ctx, k); err != nil || !found || v != want {
						t.Fatalf("Get(%s) = %d, %v, %v; want %d", k, v, found, err, want)
					}
				}
			}
			for i := 3; i < 40; i += 4 {
				if v, found, err := a.Get(ctx, sharedKey(i)); err != nil || !found || v < 0 || v >= procs {
					t.Fatalf("Get(%s) = %d, %v, %v; want a worker id", sharedKey(i), v, found, err)
				}
			}
			mustLen(t, a, procs*puts*3/4+10)
			if f, ok := a.(*archive.File[int]); ok {
				assertNoCorruption(t, f)
			}
		})
	}
}

// A writer killed in the middle of writing loses none of the writes it
// completed.
func TestKilledWriter(t *testing.T) {
	const reported = 40
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			path := archivePath(t, kind)
			h := startHelper(t, "loop", kind, path)
			for i := range reported {
				if l := h.line(t); l != strconv.Itoa(i) {
					t.Fatalf("helper said %q, want %d", l, i)
				}
			}
			if err := h.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			if err := h.cmd.Wait(); err == nil {
				t.Fatal("the killed writer exited cleanly")
			}
			a, closeArchive, err := openIntArchive(kind, path)
			if err != nil {
				t.Fatal(err)
			}
			defer closeArchive()
			for i := range reported {
				if v, found, err := a.Get(t.Context(), intKey("loop", i)); err != nil || !found || v != i {
					t.Fatalf("Get(loop%d) = %d, %v, %v; want %d", i, v, found, err, i)
				}
			}
			if n, err := a.Len(t.Context()); err != nil || n < reported {
				t.Fatalf("Len = %d, %v; want at least %d", n, err, reported)
			}
			if f, ok := a.(*archive.File[int]); ok {
				assertNoCorruption(t, f)
			}
		})
	}
}

// Writers, readers and compactions at once within one process: one handle
// overwrites keys, others open and close the file (each Close compacts the
// dead records the overwrites leave), and a reader lists and reads the
// entries through its own handle all along.
func TestFileConcurrentCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memo.klepto")
	w := openFile[int](t, path, nil)
	r := openFile[int](t, path, nil)
	putInts(t, w, 0, 10)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Go(func() {
		for i := range 100 {
			if err := w.Put(ctx, intKey("n", i%10), i%10); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Go(func() {
		for range 10 {
			c, err := archive.OpenFile[int](path, nil)
			if err == nil {
				err = c.Close()
			}
			if err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Go(func() {
		for range 50 {
			n := 0
			for e, err := range r.All(ctx) {
				if err != nil {
					errs <- err
					return
				}
				if i, _ := strconv.Atoi(strings.TrimPrefix(e.Key.Text, "n")); e.Value != i {
					errs <- fmt.Errorf("All yielded %s = %d", e.Key.Text, e.Value)
					return
				}
				n++
			}
			if n != 10 {
				errs <- fmt.Errorf("All yielded %d entries, want 10", n)
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkInts(t, r, 0, 10)
	mustLen(t, r, 10)
	assertNoCorruption(t, w)
	assertNoCorruption(t, r)
}

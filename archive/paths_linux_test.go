package archive_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// makeDevice makes, at path, a character device node with the numbers of
// the null device (1, 3). It skips the test if the process may not make
// device nodes.
func makeDevice(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			t.Skipf("mknod %s: %v: making device nodes needs root (CAP_MKNOD)", path, err)
		}
		t.Fatal(err)
	}
}

func makeFIFO(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o666); err != nil {
		t.Fatal(err)
	}
}

// checkMode checks that the file at path is still of type typ.
func checkMode(t *testing.T, path string, typ fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("%s is gone: %v", path, err)
	}
	if fi.Mode().Type() != typ {
		t.Fatalf("%s is now %v, want type %v", path, fi.Mode(), typ)
	}
}

// checkOnly checks that dir holds exactly names.
func checkOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("%s holds %q, want %q", dir, got, names)
	}
	for i := range got {
		if got[i] != names[i] {
			t.Fatalf("%s holds %q, want %q", dir, got, names)
		}
	}
}

// OpenFile refuses, without creating, writing or hanging, a path or a
// lock file that is a device, a named pipe, or a link to one.
func TestOpenFileNotRegular(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, dir string) (path string, special string, typ fs.FileMode)
	}{
		{"device", func(t *testing.T, dir string) (string, string, fs.FileMode) {
			p := filepath.Join(dir, "memo.klepto")
			makeDevice(t, p)
			return p, p, fs.ModeDevice | fs.ModeCharDevice
		}},
		{"named pipe", func(t *testing.T, dir string) (string, string, fs.FileMode) {
			p := filepath.Join(dir, "memo.klepto")
			makeFIFO(t, p)
			return p, p, fs.ModeNamedPipe
		}},
		{"link to a device", func(t *testing.T, dir string) (string, string, fs.FileMode) {
			dev := filepath.Join(dir, "null")
			makeDevice(t, dev)
			p := filepath.Join(dir, "memo.klepto")
			if err := os.Symlink(dev, p); err != nil {
				t.Fatal(err)
			}
			return p, dev, fs.ModeDevice | fs.ModeCharDevice
		}},
		{"lock file is a named pipe", func(t *testing.T, dir string) (string, string, fs.FileMode) {
			p := filepath.Join(dir, "memo.klepto")
			makeFIFO(t, p+".lock")
			return p, p + ".lock", fs.ModeNamedPipe
		}},
		{"lock file is a device", func(t *testing.T, dir string) (string, string, fs.FileMode) {
			p := filepath.Join(dir, "memo.klepto")
			makeDevice(t, p+".lock")
			return p, p + ".lock", fs.ModeDevice | fs.ModeCharDevice
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, special, typ := tc.make(t, dir)
			before, _ := os.ReadDir(dir)
			f, err := archive.OpenFile[int](path, nil)
			if err == nil {
				f.Close()
				t.Fatalf("OpenFile(%s) succeeded", path)
			}
			if !errors.Is(err, archive.ErrInvalidPath) {
				t.Fatalf("OpenFile: %v, want an error matching ErrInvalidPath", err)
			}
			checkMode(t, special, typ)
			if after, _ := os.ReadDir(dir); len(after) != len(before) {
				t.Fatalf("OpenFile created files: %v, before %v", after, before)
			}
		})
	}
}

// A File opened through a symbolic link lives in the file it points to:
// compaction replaces that file and leaves the link a link.
func TestOpenFileThroughLink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.klepto")
	link := filepath.Join(dir, "memo.klepto")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(real, nil, 0o644)
	a := openFile[int](t, link, nil)
	putInts(t, a, 0, 10)
	if err := a.Clear(t.Context()); err != nil { // compacts
		t.Fatal(err)
	}
	putInts(t, a, 0, 5)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	checkMode(t, link, fs.ModeSymlink)
	b := openFile[int](t, real, nil)
	checkInts(t, b, 0, 5)
	mustLen(t, b, 5)
	checkOnly(t, dir, "memo.klepto", "real.klepto", "real.klepto.lock")
}

// A compaction does not rename over a log that someone replaced with a
// device meanwhile.
func TestCompactionSparesDevice(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "memo.klepto")
	a, err := archive.OpenFile[int](path, nil)
	if err != nil {
		t.Fatal(err)
	}
	putInts(t, a, 0, 3)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	makeDevice(t, path)
	if err := a.Clear(t.Context()); err == nil {
		t.Fatal("Clear compacted over a device")
	}
	if err := a.Close(); !errors.Is(err, archive.ErrInvalidPath) { // Close compacts too
		t.Fatalf("Close: %v, want an error matching ErrInvalidPath", err)
	}
	checkMode(t, path, fs.ModeDevice|fs.ModeCharDevice)
	checkOnly(t, dir, "memo.klepto", "memo.klepto.lock")
}

// OpenDir refuses a path that is a device or a named pipe, and a Dir
// neither renames over nor removes an entry path that holds one.
func TestDirNotDirectory(t *testing.T) {
	for _, special := range []string{"device", "named pipe"} {
		t.Run(special, func(t *testing.T) {
			make, typ := makeDevice, fs.ModeDevice|fs.ModeCharDevice
			if special == "named pipe" {
				make, typ = makeFIFO, fs.ModeNamedPipe
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "memo")
			make(t, path)
			if _, err := archive.OpenDir[int](path, nil); !errors.Is(err, archive.ErrInvalidPath) {
				t.Fatalf("OpenDir: %v, want an error matching ErrInvalidPath", err)
			}
			checkMode(t, path, typ)

			d := openDir[int](t, filepath.Join(dir, "ok"), nil)
			key := keymap.NewKey("(n=1)")
			entry := entryPath(filepath.Join(dir, "ok"), key)
			if err := os.MkdirAll(filepath.Dir(entry), 0o755); err != nil {
				t.Fatal(err)
			}
			make(t, entry)
			if err := d.Put(t.Context(), key, 1); !errors.Is(err, archive.ErrInvalidPath) {
				t.Fatalf("Put over a special file: %v, want an error matching ErrInvalidPath", err)
			}
			if err := d.PutMany(t.Context(), []cache.Entry[int]{{Key: key, Value: 1}}); !errors.Is(err, archive.ErrInvalidPath) {
				t.Fatalf("PutMany over a special file: %v, want an error matching ErrInvalidPath", err)
			}
			if err := d.Delete(t.Context(), key); !errors.Is(err, archive.ErrInvalidPath) {
				t.Fatalf("Delete of a special file: %v, want an error matching ErrInvalidPath", err)
			}
			checkMode(t, entry, typ)
			checkOnly(t, filepath.Dir(entry), filepath.Base(entry)) // no temporary file left
		})
	}
}

// OpenDir works through a symbolic link to a directory.
func TestOpenDirThroughLink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, "memo")); err != nil {
		t.Fatal(err)
	}
	d := openDir[int](t, filepath.Join(dir, "memo"), nil)
	putInts(t, d, 0, 3)
	checkInts(t, openDir[int](t, real, nil), 0, 3)
}

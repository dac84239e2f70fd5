package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// exportSource returns the -db of a SQLite database with an archive fib,
// and what export prints for it.
func exportSource(t *testing.T) (dsn, want string) {
	t.Helper()
	dsn = "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	ok(t, "create", "fib", "-db", dsn)
	ok(t, "put", "fib", "(k)", "1", "-db", dsn)
	return dsn, ok(t, "export", "fib", "-db", dsn)
}

// withUmask runs fn with the umask mask.
func withUmask(t *testing.T, mask int, fn func()) {
	t.Helper()
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	fn()
}

// onlyFile fails the test unless dir holds name alone: no temporary file
// is left beside it.
func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		t.Fatalf("%s holds %v, want %s alone", dir, entries, name)
	}
}

// export -o creates a file with the mode 0666 less the umask, and keeps the
// mode of a file that exists.
func TestExportFileMode(t *testing.T) {
	dsn, want := exportSource(t)
	for _, tc := range []struct {
		name     string
		umask    int
		existing fs.FileMode // 0 for none
		want     fs.FileMode
	}{
		{"new umask 077", 0o077, 0, 0o600},
		{"new umask 022", 0o022, 0, 0o644},
		{"new umask 002", 0o002, 0, 0o664},
		{"existing 0600 umask 022", 0o022, 0o600, 0o600},
		{"existing 0640 umask 077", 0o077, 0o640, 0o640},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "fib.jsonl")
			if tc.existing != 0 {
				if err := os.WriteFile(file, []byte("old\n"), tc.existing); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(file, tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			withUmask(t, tc.umask, func() { ok(t, "export", "fib", "-o", file, "-db", dsn) })
			st, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode() != tc.want {
				t.Errorf("mode %v, want %v", st.Mode(), tc.want)
			}
			if b, err := os.ReadFile(file); err != nil || string(b) != want {
				t.Errorf("file holds %q, %v; want %q", b, err, want)
			}
			onlyFile(t, dir, "fib.jsonl")
		})
	}
}

// export -o into a character device, as /dev/null is, writes into it and
// leaves it a device: never a rename over it.
func TestExportDevice(t *testing.T) {
	dsn, _ := exportSource(t)
	dir := t.TempDir()
	null := filepath.Join(dir, "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil { // major 1, minor 3: /dev/null
		t.Skipf("mknod: %v (needs root)", err)
	}
	ok(t, "export", "fib", "-o", null, "-db", dsn)
	st, err := os.Lstat(null)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&fs.ModeCharDevice == 0 || st.Sys().(*syscall.Stat_t).Rdev != 1<<8|3 {
		t.Fatalf("after export: %v, want the character device 1,3", st.Mode())
	}
	onlyFile(t, dir, "null")
}

// export -o into a FIFO streams the export to its reader.
func TestExportFIFO(t *testing.T) {
	dsn, want := exportSource(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	type read struct {
		data []byte
		err  error
	}
	got := make(chan read, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- read{nil, err}
			return
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		got <- read{b, err}
	}()
	ok(t, "export", "fib", "-o", fifo, "-db", dsn)
	r := <-got
	if r.err != nil || string(r.data) != want {
		t.Fatalf("the FIFO gave %q, %v; want %q", r.data, r.err, want)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("after export: %v, %v; want a FIFO", st, err)
	}
	onlyFile(t, dir, "fifo")
}

// export -o through a symbolic link replaces the file it points to, and
// keeps the link; -o /dev/stdout writes to stdout; -o a folder fails.
func TestExportLinksAndFolders(t *testing.T) {
	dsn, want := exportSource(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "target.jsonl")
	if err := os.WriteFile(target, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink("target.jsonl", link); err != nil {
		t.Fatal(err)
	}
	ok(t, "export", "fib", "-o", link, "-db", dsn)
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("after export: %v, %v; want the link", st, err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != want {
		t.Fatalf("target holds %q, %v; want %q", b, err, want)
	}
	if st, err := os.Stat(target); err != nil || st.Mode() != 0o600 {
		t.Fatalf("target: %v, %v; want mode 0600", st, err)
	}

	if got := ok(t, "export", "fib", "-o", "/dev/stdout", "-db", dsn); got != want {
		t.Fatalf("-o /dev/stdout printed %q, want %q", got, want)
	}

	fails(t, exitFailure, []string{dir + " is a directory"}, "export", "fib", "-o", dir, "-db", dsn)
}

// A SQLite database that is not a regular file is refused before SQLite
// opens it, and nothing is created beside it.
func TestSQLiteNotRegular(t *testing.T) {
	for _, tc := range []struct {
		kind string
		make func(path string) error
	}{
		{"a character device", func(p string) error { return syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3) }},
		{"a FIFO (named pipe)", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"a directory", func(p string) error { return os.Mkdir(p, 0o700) }},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "cache.db")
			if err := tc.make(path); err != nil {
				if errors.Is(err, fs.ErrPermission) {
					t.Skipf("mknod: %v (needs root)", err)
				}
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"ls", "-db", "sqlite:" + path},
				{"create", "fib", "-db", path},
				{"import", "fib", "-db", "sqlite:" + path},
			} {
				fails(t, exitFailure, []string{"SQLite database " + path + " is " + tc.kind + ", not a regular file"}, args...)
			}
			onlyFile(t, dir, "cache.db")
			if strings.Contains(tc.kind, "directory") {
				if entries, err := os.ReadDir(path); err != nil || len(entries) != 0 {
					t.Fatalf("the directory holds %v, %v", entries, err)
				}
			}
		})
	}
}

package migrations_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
)

// A migration of a SQLite database refuses a lock file path that holds a
// device, a named pipe or a link, without hanging on the pipe, and leaves
// it as it was: it neither locks it nor removes it.
func TestLockFileNotRegular(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, lock string) (special string, typ fs.FileMode)
	}{
		{"named pipe", func(t *testing.T, lock string) (string, fs.FileMode) {
			if err := syscall.Mkfifo(lock, 0o666); err != nil {
				t.Fatal(err)
			}
			return lock, fs.ModeNamedPipe
		}},
		{"device", func(t *testing.T, lock string) (string, fs.FileMode) {
			makeDevice(t, lock)
			return lock, fs.ModeDevice | fs.ModeCharDevice
		}},
		{"link to a device", func(t *testing.T, lock string) (string, fs.FileMode) {
			dev := filepath.Join(filepath.Dir(lock), "null")
			makeDevice(t, dev)
			if err := os.Symlink(dev, lock); err != nil {
				t.Fatal(err)
			}
			return lock, fs.ModeSymlink
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "test.db")
			db := sqltest.SQLiteAt(t, path)
			special, typ := tc.make(t, path+".klepto-migrate.lock")
			err := migrations.Up(t.Context(), db, &migrations.Options{Dialect: dialect.SQLite})
			if !errors.Is(err, migrations.ErrNotRegularLock) {
				t.Fatalf("Up: %v, want an error matching ErrNotRegularLock", err)
			}
			fi, err := os.Lstat(special)
			if err != nil || fi.Mode().Type() != typ {
				t.Fatalf("the lock path after Up: %v, %v; want it left as it was, of type %v", fi, err, typ)
			}
		})
	}
}

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

package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// CorruptError reports damaged data in an archive: a record of a [File]
// or an entry file of a [Dir] that fails its checksum or is malformed.
type CorruptError struct {
	Path   string // the damaged file
	Offset int64  // the damaged record's offset in a File; -1 for a Dir entry file
	Err    error  // what is wrong
}

// Error names the file, and for a File the offset, and what is wrong.
func (e *CorruptError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("archive: corrupt entry file %s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("archive: corrupt record at offset %d of %s: %v", e.Offset, e.Path, e.Err)
}

// Unwrap returns e.Err.
func (e *CorruptError) Unwrap() error { return e.Err }

// createTemp creates a new file in dir, named prefix, a dot, a random part
// and suffix, with mode perm before the umask (os.CreateTemp always uses
// 0o600).
func createTemp(dir, prefix, suffix string, perm fs.FileMode) (*os.File, error) {
	for range 100 {
		name := filepath.Join(dir, prefix+"."+strconv.FormatUint(rand.Uint64(), 36)+suffix)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("no free temporary name in %s", dir)
}

// syncDir makes the entries of dir durable, after a create or a rename in
// it. Windows has no way to sync a directory and needs none.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

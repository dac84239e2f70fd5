package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/internal/fskind"
)

// notKind returns the error, matching ErrInvalidPath, for the file at
// path, of mode m, where a file of kind ("a regular file", "a directory")
// belongs. Its text has no package prefix.
func notKind(path string, m fs.FileMode, kind string) error {
	return errmark.Errorf(ErrInvalidPath, "%s is %s, not %s", path, fskind.Name(m), kind)
}

// resolveFile returns the path of the log of a File opened at path: path
// itself, or the file it points to if it is a symbolic link, so that
// compactions replace the file and not the link. It returns an error
// matching ErrInvalidPath if that file, or the lock file beside it,
// exists and is not a regular file.
func resolveFile(path string) (string, error) {
	fi, err := os.Lstat(path)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		target, lerr := filepath.EvalSymlinks(path)
		if lerr != nil {
			return "", fmt.Errorf("archive: %w", lerr)
		}
		path = target
		fi, err = os.Lstat(path)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", fmt.Errorf("archive: %w", err)
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("archive: %w", notKind(path, fi.Mode(), "a regular file"))
	}
	if err := checkRegular(path + ".lock"); err != nil {
		return "", err
	}
	return path, nil
}

// checkRegular returns an error matching ErrInvalidPath if the file at
// path exists and is not a regular file (a symbolic link is not).
func checkRegular(path string) error {
	m, irregular, err := fskind.Irregular(path)
	switch {
	case err != nil:
		return fmt.Errorf("archive: %w", err)
	case irregular:
		return fmt.Errorf("archive: %w", notKind(path, m, "a regular file"))
	}
	return nil
}

// replaceable returns an error if the file at path exists and is not a
// regular file, which a rename must not replace or a removal delete: a
// device or a named pipe that someone put where an entry belongs.
func replaceable(path string) error {
	if m, irregular, _ := fskind.Irregular(path); irregular {
		return notKind(path, m, "a regular file")
	}
	return nil
}

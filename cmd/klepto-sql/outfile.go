package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// writeFileAtomic writes the file at path with write. A regular file, or
// one that does not exist, is written through a temporary file in the same
// folder renamed into place at the end, so that it appears complete or not
// at all; a new file gets the mode 0666 less the umask, an existing one
// keeps its mode. Anything else, such as a device, a FIFO or a link into
// /proc or /dev, is written directly, never replaced: a rename over
// /dev/null would replace the device by a file.
func writeFileAtomic(path string, write func(w io.Writer) error) error {
	target, st, err := renameTarget(path)
	if err != nil {
		return err
	}
	if target == "" {
		return writeDirect(path, write)
	}
	return writeRenamed(target, st, write)
}

// renameTarget returns the file that writeFileAtomic renames a temporary
// file over for path, following symbolic links, and its FileInfo (nil if
// it does not exist), or "" if path is to be written directly.
func renameTarget(path string) (string, fs.FileInfo, error) {
	p := path
	for range 40 {
		if underDevOrProc(p) {
			return "", nil, nil
		}
		st, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return p, nil, nil
		case err != nil:
			return "", nil, err
		case st.Mode().IsRegular():
			return p, st, nil
		case st.IsDir():
			return "", nil, fmt.Errorf("%s is a directory", path)
		case st.Mode()&fs.ModeSymlink == 0:
			return "", nil, nil // a device, FIFO or socket
		}
		link, err := os.Readlink(p)
		if err != nil {
			return "", nil, err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(p), link)
		}
		p = link
	}
	return "", nil, fmt.Errorf("%s: too many levels of symbolic links", path)
}

// underDevOrProc reports whether path names something in /dev or /proc,
// whose files, such as /dev/stdout and /proc/self/fd/1, are written in
// place even where they stand for a regular file.
func underDevOrProc(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	return strings.HasPrefix(abs, "/dev/") || strings.HasPrefix(abs, "/proc/")
}

// writeDirect writes into the file at path, which exists, in place.
func writeDirect(path string, write func(w io.Writer) error) error {
	flags := os.O_WRONLY
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		return errors.Join(err, f.Close())
	}
	return f.Close()
}

// writeRenamed writes the regular file path, described by st or nil if it
// does not exist, through a temporary file renamed over it.
func writeRenamed(path string, st fs.FileInfo, write func(w io.Writer) error) (err error) {
	tmp, err := createTemp(path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if st != nil {
		if err := tmp.Chmod(st.Mode().Perm()); err != nil {
			return err
		}
	}
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// createTemp creates a new file beside path, with the mode 0666 less the
// umask, as a file created at path would have (os.CreateTemp gives 0600).
func createTemp(path string) (*os.File, error) {
	for {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		name := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+hex.EncodeToString(b)+".tmp")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
}

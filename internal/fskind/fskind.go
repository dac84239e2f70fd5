// Package fskind names kinds of files for error messages, so that the
// packages that create, rename or remove files beside a path their users
// give can refuse, in one wording, a path that is not the kind of file
// they expect: a device, a named pipe or a socket where a regular file
// belongs.
//
// Its functions are safe for concurrent use.
package fskind

import (
	"errors"
	"io/fs"
	"os"
)

// Name returns the kind of a file of mode m, with its article: "a regular
// file", "a directory", "a symbolic link", "a FIFO (named pipe)", "a
// socket", "a character device", "a block device" or "an irregular file".
func Name(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "an irregular file"
}

// Irregular returns the mode of the file at path, not following a final
// symbolic link, and true when that file exists and is not a regular file;
// false and no error when the path holds a regular file or nothing.
func Irregular(path string) (fs.FileMode, bool, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	return fi.Mode(), !fi.Mode().IsRegular(), nil
}

// Package fskind names kinds of files for error messages, so that the
// packages that create, rename or remove files beside a path their users
// give can refuse, in one wording, a path that is not the kind of file
// they expect: a device, a named pipe or a socket where a regular file
// belongs.
//
// Its functions are safe for concurrent use.
package fskind

import "io/fs"

// Name returns the kind of a file of mode m, with its article: "a regular
// file", "a directory", "a symbolic link", "a named pipe", "a socket", "a
// device" or "an irregular file".
func Name(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "an irregular file"
}

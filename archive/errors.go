package archive

import (
	"errors"
	"fmt"

	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/internal/keyfmt"
	"github.com/klepto-sql/klepto/keymap"
)

// ErrInvalidOptions is wrapped by the errors of [OpenFile] and [OpenDir]
// about their options: an unknown codec, the raw codec for values that are
// not []byte, a mode with bits other than permissions, or a compression
// level out of range.
var ErrInvalidOptions = errors.New("archive: invalid options")

// ErrInvalidPath is wrapped by the errors of [OpenFile] and [OpenDir] when
// their path exists and is not the kind of file they need: a regular file
// (OpenFile, and its lock file) or a directory (OpenDir), not a device, a
// named pipe or a socket. They then create, rename and remove nothing.
// Writes wrap it too when they find such a file where they would rename or
// remove one: a File whose log was replaced by a device, or a Dir entry
// path that holds a named pipe; they leave it alone.
var ErrInvalidPath = errors.New("archive: invalid path")

// errFileClosed is ErrClosed as the messages of a File's methods say it.
var errFileClosed = errmark.Errorf(ErrClosed, "file is closed")

// invalidOptions returns err, an error of package codec about the codec
// of the options, as one of this package that matches ErrInvalidOptions.
func invalidOptions(err error) error {
	return errmark.Errorf(ErrInvalidOptions, "archive: %w", err)
}

// keyError returns the error err of the operation op, such as "get", on
// key: `archive: get "(n=3)": <err>`, a long key cut as package keyfmt
// cuts it. err names
// the file when one is at fault. A *CorruptError, which names the file
// and the damage, is returned as it is.
func keyError(op string, key keymap.Key, err error) error {
	if _, ok := errors.AsType[*CorruptError](err); ok {
		return err
	}
	return fmt.Errorf("archive: %s %s: %w", op, keyfmt.Key(key), err)
}

// opError returns the error err of the operation op, such as "len", which
// concerns no one key, as keyError does.
func opError(op string, err error) error {
	if _, ok := errors.AsType[*CorruptError](err); ok {
		return err
	}
	return fmt.Errorf("archive: %s: %w", op, err)
}

// entryError returns the error err of All in reading the entry of key, of
// which it may know nothing yet.
func entryError(key keymap.Key, err error) error {
	if key.Text == "" {
		return opError("all", err)
	}
	return opError(fmt.Sprintf("all: read %s", keyfmt.Key(key)), err)
}

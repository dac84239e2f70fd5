package fskind_test

import (
	"io/fs"
	"testing"

	"github.com/klepto-sql/klepto/internal/fskind"
)

func TestName(t *testing.T) {
	for m, want := range map[fs.FileMode]string{
		0o644:                             "a regular file",
		fs.ModeDir | 0o755:                "a directory",
		fs.ModeSymlink | 0o777:            "a symbolic link",
		fs.ModeNamedPipe | 0o644:          "a FIFO (named pipe)",
		fs.ModeSocket | 0o755:             "a socket",
		fs.ModeDevice | 0o660:             "a block device",
		fs.ModeDevice | fs.ModeCharDevice: "a character device",
		fs.ModeIrregular:                  "an irregular file",
	} {
		if got := fskind.Name(m); got != want {
			t.Errorf("Name(%v) = %q, want %q", m, got, want)
		}
	}
}

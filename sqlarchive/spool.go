package sqlarchive

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
)

// spoolMemory is how many bytes of checked input Load keeps in memory
// before it moves them to a temporary file.
const spoolMemory = 4 << 20

// spool holds the checked lines of a dump between reading and writing, for
// Load: in memory up to spoolMemory bytes, then in a temporary file.
type spool struct {
	dir string // the folder of the file; "" for os.TempDir()
	mem bytes.Buffer
	f   *os.File // nil while the lines fit in memory
	w   *bufio.Writer

	unlinked bool // f's name was removed as soon as f was made
	lines    int  // the lines added
}

// add appends line, which holds no newline.
func (s *spool) add(line []byte) error {
	s.lines++
	if s.f == nil && s.mem.Len()+len(line)+1 > spoolMemory {
		if err := s.toFile(); err != nil {
			return err
		}
	}
	if s.f == nil {
		s.mem.Write(line)
		s.mem.WriteByte('\n')
		return nil
	}
	if _, err := s.w.Write(line); err != nil {
		return err
	}
	return s.w.WriteByte('\n')
}

// toFile moves the lines in memory to a new temporary file.
func (s *spool) toFile() error {
	f, err := os.CreateTemp(s.dir, "klepto-load-*")
	if err != nil {
		return err
	}
	// Unlinked at once where the system allows it, so that nothing is
	// left behind by a process that is killed; close removes it otherwise.
	s.unlinked = os.Remove(f.Name()) == nil
	s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
	if _, err := s.w.Write(s.mem.Bytes()); err != nil {
		return err
	}
	s.mem = bytes.Buffer{}
	return nil
}

// reader returns a reader of the lines added so far, from the first.
func (s *spool) reader() (*bufio.Reader, error) {
	if s.f == nil {
		return bufio.NewReader(bytes.NewReader(s.mem.Bytes())), nil
	}
	if err := s.w.Flush(); err != nil {
		return nil, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return bufio.NewReaderSize(s.f, 64<<10), nil
}

// close releases the memory and removes the file.
func (s *spool) close() error {
	s.mem = bytes.Buffer{}
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	if s.unlinked {
		return err // its name may be another file's by now
	}
	if rerr := os.Remove(s.f.Name()); !errors.Is(rerr, fs.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

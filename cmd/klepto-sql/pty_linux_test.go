package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// openPTY returns the two ends of a new pseudo-terminal, closed when the
// test ends, and a function that returns what was written to the
// terminal end so far, once that end is closed.
func openPTY(t *testing.T) (tty *os.File, output func() string) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { _ = ptmx.Close() })
	ioctl := func(req uintptr, arg unsafe.Pointer) {
		t.Helper()
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), req, uintptr(arg)); errno != 0 {
			t.Fatalf("ioctl %#x on /dev/ptmx: %v", req, errno)
		}
	}
	var unlock int32
	ioctl(syscall.TIOCSPTLCK, unsafe.Pointer(&unlock))
	var n uint32
	ioctl(syscall.TIOCGPTN, unsafe.Pointer(&n))
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the terminal end of the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { _ = tty.Close() })
	var (
		mu  sync.Mutex
		buf bytes.Buffer
		wg  sync.WaitGroup
	)
	wg.Go(func() {
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return // EIO once the terminal end is closed
			}
		}
	})
	return tty, func() string {
		_ = tty.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

// On a terminal, copy's and export's progress bars count entries: a copy
// of 1,110 entries in four archives shows 1110 as its total, where it
// used to count archives (4), and the bar advances while an archive is
// copied; import's bars show the bytes read, then the entries written.
func TestProgressBars(t *testing.T) {
	src := sqltest.Fresh(t, dialect.SQLite)
	populate(t, src.DB, dialect.SQLite, testNow()) // 1,110 entries, 1,100 of them in fib
	from := dsnOf(t, src, false)
	to := "sqlite:" + t.TempDir() + "/to.db"

	tty, output := openPTY(t)
	var stdout bytes.Buffer
	if code := run(t.Context(), []string{"copy", "-db", from, "-to", to}, strings.NewReader(""), &stdout, tty); code != exitOK {
		t.Fatalf("copy on a terminal: exit %d\n%s", code, output())
	}
	bar := output()
	// Renders such as "copy  45% |██▍   | (500/1110, 9034 it/s)".
	counts := regexp.MustCompile(`\((\d+)/(\d+),`).FindAllStringSubmatch(bar, -1)
	if len(counts) == 0 {
		t.Fatalf("copy drew no progress bar with counts on the terminal:\n%q", bar)
	}
	partial := false
	for _, c := range counts {
		if c[2] != "1110" {
			t.Fatalf("copy's bar counts to %s, want 1110 entries:\n%q", c[2], bar)
		}
		partial = partial || c[1] != "0" && c[1] != "1110"
	}
	if !partial {
		t.Errorf("copy's bar never showed a count between 0 and 1110:\n%q", bar)
	}
	if !strings.Contains(strings.Join(strings.Fields(stdout.String()), " "), "fib 1100 points 3") {
		t.Errorf("copy printed %q", stdout.String())
	}

	tty, output = openPTY(t)
	var export bytes.Buffer
	if code := run(t.Context(), []string{"export", "fib", "-db", to}, strings.NewReader(""), &export, tty); code != exitOK {
		t.Fatalf("export on a terminal: exit %d\n%s", code, output())
	}
	if bar := output(); !strings.Contains(bar, "/1100,") {
		t.Errorf("export's bar does not count to 1100 entries:\n%q", bar)
	}

	// import reads (a bar of bytes), then writes (a bar of entries).
	file := filepath.Join(t.TempDir(), "fib.jsonl")
	if err := os.WriteFile(file, export.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tty, output = openPTY(t)
	if code := run(t.Context(), []string{"import", "fib_again", "-i", file, "-db", to}, strings.NewReader(""), io.Discard, tty); code != exitOK {
		t.Fatalf("import on a terminal: exit %d\n%s", code, output())
	}
	bar = output()
	if !strings.Contains(bar, "import fib_again") || !regexp.MustCompile(`write fib_again .*\(1000/1100,`).MatchString(bar) {
		t.Errorf("import's bars do not show the bytes read, then 1000 of the 1100 entries written:\n%q", bar)
	}
}

package sqlarchive_test

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// entryLine returns a line of a dump of codec json: key k, a string value
// of about size bytes that names v.
func entryLine(k, v string, size int) string {
	pad := ""
	if size > len(v) {
		pad = strings.Repeat("x", size-len(v))
	}
	return fmt.Sprintf(`{"key":%q,"value":"%s%s"}`+"\n", k, v, pad)
}

// linesReader yields the lines that line returns for 0, 1, … n-1, made as
// they are read, so that the input takes no memory of its own.
type linesReader struct {
	n, i int
	line func(i int) string
	buf  []byte
}

func (r *linesReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.i == r.n {
			return 0, io.EOF
		}
		r.buf = []byte(r.line(r.i))
		r.i++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// keyCount returns how many rows the archive called name holds.
func keyCount(t *testing.T, a *sqlarchive.Archive, name string) int64 {
	t.Helper()
	s, err := a.Stats(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s.Rows
}

// Load returns how many entries it stored: a key on several lines, in
// one batch or in several, counts once, and its last line wins.
func TestLoadCountsStoredKeys(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := open(t, db, d, nil)
		n, err := sqlarchive.Load(ctx, a, "dups", strings.NewReader(entryLine("a", "1", 0)+entryLine("a", "2", 0)+entryLine("b", "3", 0)), nil)
		if err != nil || n != 2 {
			t.Fatalf("Load of a, a, b = %d, %v; want 2", n, err)
		}
		if got := keyCount(t, a, "dups"); got != 2 {
			t.Fatalf("%d rows stored, want 2", got)
		}
		out, _ := dump(t, a, "dups")
		if !strings.Contains(out, `{"key":"a","args":null,"value":"2",`) {
			t.Fatalf("the last line of a did not win:\n%s", out)
		}
		// 2500 lines, 1000 keys: the repeats span the batches of 1000.
		in := &linesReader{n: 2500, line: func(i int) string { return entryLine(fmt.Sprintf("k%d", i%1000), fmt.Sprint(i), 0) }}
		n, err = sqlarchive.Load(ctx, a, "many", in, nil)
		if err != nil || n != 1000 {
			t.Fatalf("Load of 2500 lines of 1000 keys = %d, %v; want 1000", n, err)
		}
		if got := keyCount(t, a, "many"); got != 1000 {
			t.Fatalf("%d rows stored, want 1000", got)
		}
	})
}

// A malformed line near the end of an input larger than Load keeps in
// memory leaves the archive exactly as it was, and no temporary file.
func TestLoadAllOrNothing(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := open(t, db, d, nil)
		const lines = 6000 // 6 MB: beyond the 4 MB kept in memory
		good := func(i int) string { return entryLine(fmt.Sprintf("k%d", i), "new", 1000) }
		if n, err := sqlarchive.Load(ctx, a, "fib", &linesReader{n: 100, line: func(i int) string {
			return entryLine(fmt.Sprintf("k%d", i), "old", 10)
		}}, nil); err != nil || n != 100 {
			t.Fatalf("Load = %d, %v", n, err)
		}
		before, _ := dump(t, a, "fib")
		tmp := t.TempDir()
		in := &linesReader{n: lines, line: func(i int) string {
			if i == lines-2 {
				return `{"key":"bad","value":}` + "\n"
			}
			return good(i)
		}}
		_, err := sqlarchive.Load(ctx, a, "fib", in, &sqlarchive.LoadOptions{Source: "big.jsonl", TempDir: tmp})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("big.jsonl line %d: ", lines-1)) {
			t.Fatalf("Load of a malformed line = %v, want an error naming line %d", err, lines-1)
		}
		if after, _ := dump(t, a, "fib"); after != before {
			t.Fatalf("a failed Load changed the archive")
		}
		if left, _ := readDirNames(tmp); len(left) != 0 {
			t.Fatalf("temporary files left: %v", left)
		}
		// The same input, well formed, loads whole, through the file.
		n, err := sqlarchive.Load(ctx, a, "fib", &linesReader{n: lines, line: good}, &sqlarchive.LoadOptions{TempDir: tmp})
		if err != nil || n != lines {
			t.Fatalf("Load = %d, %v; want %d", n, err, lines)
		}
		if got := keyCount(t, a, "fib"); got != lines {
			t.Fatalf("%d rows stored, want %d", got, lines)
		}
		if left, _ := readDirNames(tmp); len(left) != 0 {
			t.Fatalf("temporary files left: %v", left)
		}
	})
}

// A write that fails after earlier batches were written rolls them back:
// the archive is as it was.
func TestLoadFailedWriteRollsBack(t *testing.T) {
	var armed atomic.Bool
	var inserts atomic.Int32
	injected := errors.New("injected failure")
	db := sqltest.Faulty(t, func(op sqltest.Op, query string) error {
		if armed.Load() && op == sqltest.OpExec && strings.Contains(query, "INSERT") && strings.Contains(query, `"fib"`) {
			if inserts.Add(1) == 3 {
				return injected
			}
		}
		return nil
	})
	ctx := t.Context()
	a := open(t, db, dialect.SQLite, nil)
	if _, err := sqlarchive.Load(ctx, a, "fib", strings.NewReader(entryLine("k1", "old", 0)), nil); err != nil {
		t.Fatal(err)
	}
	before, _ := dump(t, a, "fib")
	armed.Store(true)
	in := &linesReader{n: 5000, line: func(i int) string { return entryLine(fmt.Sprintf("k%d", i), "new", 10) }}
	_, err := sqlarchive.Load(ctx, a, "fib", in, nil)
	armed.Store(false)
	if !errors.Is(err, injected) {
		t.Fatalf("Load = %v, want the injected failure", err)
	}
	if inserts.Load() < 3 {
		t.Fatalf("%d inserts, want the third to fail", inserts.Load())
	}
	if after, _ := dump(t, a, "fib"); after != before {
		t.Fatalf("a failed Load changed the archive:\n%s", after)
	}
}

// Loading some 50 MB takes a bounded amount of memory, not one that grows
// with the input.
func TestLoadBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 50 MB")
	}
	ctx := t.Context()
	a := open(t, sqltest.SQLite(t), dialect.SQLite, nil)
	const lines, size = 50_000, 1000 // 50 MB
	in := &linesReader{n: lines, line: func(i int) string { return entryLine(fmt.Sprintf("key%d", i), fmt.Sprint(i), size) }}

	defer debug.SetGCPercent(debug.SetGCPercent(10)) // collect often, to see the live heap
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	live := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := live()
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if l := live(); l > peak.Load() {
				peak.Store(l)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	n, err := sqlarchive.Load(ctx, a, "big", in, &sqlarchive.LoadOptions{TempDir: t.TempDir()})
	close(done)
	<-sampled
	if err != nil || n != lines {
		t.Fatalf("Load = %d, %v; want %d", n, err, lines)
	}
	grew := int64(peak.Load()) - int64(base)
	t.Logf("live heap grew by %.1f MB at most, loading %d MB", float64(grew)/(1<<20), lines*size>>20)
	if grew > 30<<20 {
		t.Fatalf("the live heap grew by %d MB loading %d MB, want under 30 MB", grew>>20, lines*size>>20)
	}
}

// readDirNames returns the names of the files in dir.
func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, err
}

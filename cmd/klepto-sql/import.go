package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// importCommand reads entries written by export into an archive.
type importCommand struct {
	*env
	db    string
	in    string
	json  bool
	codec codecFlag
	ttl   ttlFlag

	skipMigrate bool
}

func (c *importCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "import",
		args:    "NAME",
		need:    []string{"NAME"},
		max:     1,
		summary: "read entries written by export into an archive",
		text: `Import reads JSON Lines as export writes them into the archive NAME, creating
it if needed with the codec, keymap and TTL of the file's header (its first
line), as copy creates archives; the header's name and function version
are not used. An archive that exists must have the same settings, and so
must -codec and -ttl, if given. Files without a header, written by older
versions, import as before: into an archive created with -codec and -ttl,
as create does. Entries keep their
arguments and timestamps, expires_at included; an entry the archive holds
already is overwritten, but keeps the time it was first written (created_at).
Only key and value (or value_base64) are required; missing times are now, a
missing expires_at is never. Blank lines are skipped.

Every line is read and checked first, then all are written in one
transaction: a malformed line, named by its number, or any other error,
imports nothing, and an interrupted import too. The checked lines wait in
a temporary file ($TMPDIR) beyond their first 4 MB, so memory does not grow
with the file. The count printed is that of the entries stored: a key on
several lines counts once, and its last line wins. An archive created for an
import that fails is left in place, empty: other programs may have written
into it meanwhile. So export, import into another database, and export
again give identical files (unless the times lose digits: SQLite keeps
milliseconds, PostgreSQL and MySQL microseconds).
Progress bars, of the bytes read, then of the entries written, are drawn on
stderr when it is a terminal.`,
		examples: []string{
			"klepto-sql import fib -i fib.jsonl -db postgres://app@db.internal/app",
			"klepto-sql export fib | klepto-sql import fib_backup",
		},
	}
}

func (c *importCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	jsonFlag(fs, &c.json)
	fs.StringVar(&c.in, "i", "", "read `FILE` instead of stdin")
	fs.Var(&c.codec, "codec", "the `codec` of the archive if import creates it from a file without a header: json (the default), gob or raw")
	fs.BoolVar(&c.skipMigrate, "skip-migrate", false, "apply no migration: another tool keeps klepto's schema")
	fs.Var(&c.ttl, "ttl", "the TTL of the archive if import creates it from a file without a header: a duration `D` such as 24h; default none")
}

func (c *importCommand) Run(ctx context.Context, args []string) (err error) {
	name := args[0]
	if _, _, err := sqlarchive.TableName(name); err != nil {
		return err
	}
	in, source, size := c.stdin, "stdin", int64(-1)
	if c.in != "" && c.in != "-" {
		f, err := os.Open(c.in)
		if err != nil {
			return err
		}
		defer f.Close()
		in, source = f, c.in
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
	}
	a, err := c.openArchive(ctx, c.db, !c.skipMigrate)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, a) }()

	_, err = a.Info(ctx, name)
	existed := err == nil
	if err != nil && !errors.Is(err, sqlarchive.ErrNotFound) {
		return err
	}
	r := newCancelableReader(ctx, in)
	defer r.Close()
	// A bar of the bytes read, then one of the entries written.
	reading := c.progress(size, "import "+name, true)
	var writing *bar
	writes := 0 // the entries written so far
	n, err := sqlarchive.Load(ctx, a.Archive, name, r, &sqlarchive.LoadOptions{
		Codec:    c.codec.codec,
		TTL:      c.ttl.ttl,
		Source:   source,
		Progress: reading.add,
		WriteProgress: func(written, total int) {
			if writes == 0 {
				reading.finish()
				reading, writing = nil, c.progress(int64(total), "write "+name, false)
			}
			writing.add(written - writes)
			writes = written
		},
	})
	reading.finish()
	writing.finish()
	if err != nil {
		var he *sqlarchive.HeaderError
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("import of %s interrupted: %w; nothing imported", name, ctx.Err())
		case errors.As(err, &he):
			err = fmt.Errorf("-%s %s contradicts the header of %s, which gives %s %s; nothing imported",
				strings.ToLower(he.Field), he.Option, he.Source, he.Field, he.Header)
		default:
			err = fmt.Errorf("%w; nothing imported", err)
		}
		if !existed {
			if _, ierr := a.Info(ctx, name); ierr == nil {
				// Never dropped: other programs may have written into it since.
				err = fmt.Errorf("%w; the archive, created for the import, is left in place", err)
			}
		}
		return err
	}
	if c.json {
		return writeJSON(c.stdout, struct {
			Name     string `json:"name"`
			Imported int    `json:"imported"`
		}{name, n})
	}
	_, err = fmt.Fprintf(c.stdout, "imported %s into %s\n", plural(n, "entry", "entries"), name)
	return err
}

// cancelableReader reads from a reader in a goroutine of its own, so that
// a Read waiting for input, say on a terminal, returns when the context is
// done. The goroutine may be left waiting for input that never comes;
// klepto-sql exits soon after.
type cancelableReader struct {
	ctx    context.Context
	chunks chan chunk
	done   chan struct{}
	buf    []byte
	err    error
}

// chunk is the result of one Read.
type chunk struct {
	data []byte
	err  error
}

// newCancelableReader returns a reader of r that stops when ctx is done.
// Close it.
func newCancelableReader(ctx context.Context, r io.Reader) *cancelableReader {
	cr := &cancelableReader{ctx: ctx, chunks: make(chan chunk), done: make(chan struct{})}
	go func() {
		for {
			buf := make([]byte, 64<<10)
			n, err := r.Read(buf)
			select {
			case cr.chunks <- chunk{buf[:n], err}:
			case <-cr.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return cr
}

func (r *cancelableReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		select {
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		case c := <-r.chunks:
			r.buf, r.err = c.data, c.err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Close stops the goroutine, once its Read returns.
func (r *cancelableReader) Close() error {
	close(r.done)
	return nil
}

// codecFlag is the value of a -codec flag that may be left out.
type codecFlag struct{ codec *codec.Codec }

func (f *codecFlag) String() string {
	if f.codec == nil {
		return ""
	}
	return f.codec.String()
}

func (f *codecFlag) Set(s string) error {
	c, err := codec.Parse(s)
	if err != nil {
		return err
	}
	f.codec = &c
	return nil
}

// ttlFlag is the value of a -ttl flag that may be left out.
type ttlFlag struct{ ttl *time.Duration }

func (f *ttlFlag) String() string {
	if f.ttl == nil {
		return ""
	}
	return f.ttl.String()
}

func (f *ttlFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("negative TTL %v", d)
	}
	f.ttl = &d
	return nil
}

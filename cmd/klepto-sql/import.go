package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// importCommand reads entries written by export into an archive.
type importCommand struct {
	*env
	db    string
	in    string
	json  bool
	codec codecFlag
	ttl   ttlFlag
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
imports nothing, and an interrupted import too. An archive created for an
import that fails is left in place, empty: other programs may have written
into it meanwhile. So export, import into another database, and export
again give identical files (unless the times lose digits: SQLite keeps
milliseconds, PostgreSQL and MySQL microseconds).
A progress bar is drawn on stderr when it is a terminal.`,
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
	a, err := c.openArchive(ctx, c.db, true)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, a) }()

	// Everything is read and checked before anything is written, so that
	// a malformed line creates nothing, and no transaction (on SQLite, the
	// database's write lock) waits for input.
	r := newCancelableReader(ctx, in)
	defer r.Close()
	progress := c.progress(size, "import "+name, true)
	lines := &lineReader{r: bufio.NewReaderSize(r, 64<<10), source: source, progress: progress}
	like, exists, err := c.target(ctx, a, name, lines)
	var rows []sqltable.Row[[]byte]
	if err == nil {
		rows, err = lines.records(like.Codec)
	}
	progress.finish()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("import of %s interrupted: %w; nothing imported", name, ctx.Err())
		}
		return err
	}

	// Checks the archive again, had another program made it, or dropped
	// and made it anew, while the input was read.
	info, err := sqlarchive.CreateLike(ctx, a.Archive, like)
	if err != nil {
		return fmt.Errorf("%w; nothing imported", err)
	}
	if err := c.write(ctx, a, info, rows); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("import of %s interrupted: %w", name, ctx.Err())
		}
		if !exists {
			// Never dropped: other programs may have written into it since.
			return fmt.Errorf("%w; nothing imported; the archive %s created for the import is left in place", err, name)
		}
		return fmt.Errorf("%w; nothing imported", err)
	}
	if c.json {
		return writeJSON(c.stdout, struct {
			Name     string `json:"name"`
			Imported int    `json:"imported"`
		}{name, len(rows)})
	}
	_, err = fmt.Fprintf(c.stdout, "imported %s into %s\n", plural(len(rows), "entry", "entries"), name)
	return err
}

// target returns the archive called name that import writes into, as
// sqlarchive.CreateLike takes it, and whether the archive exists. Its
// codec, keymap and TTL are those of the header of the input, which it
// reads from lines if the input has one, else those of the archive if it
// exists, else those of -codec and -ttl. The flags and an existing archive
// must agree with them.
func (c *importCommand) target(ctx context.Context, a *archive, name string, lines *lineReader) (like sqlarchive.TableInfo, exists bool, err error) {
	header, found, err := lines.header()
	if err != nil {
		return like, false, err
	}
	stored, err := a.Info(ctx, name)
	exists = err == nil
	if err != nil && !errors.Is(err, sqlarchive.ErrNotFound) {
		return like, false, err
	}
	switch {
	case found:
		like = header
		if c.codec.codec != nil && *c.codec.codec != like.Codec {
			return like, exists, fmt.Errorf("-codec %v contradicts the header of %s, which gives codec %v", *c.codec.codec, lines.source, like.Codec)
		}
		if c.ttl.ttl != nil && *c.ttl.ttl != like.TTL {
			return like, exists, fmt.Errorf("-ttl %v contradicts the header of %s, which gives TTL %v", *c.ttl.ttl, lines.source, like.TTL)
		}
	case exists:
		like = stored
	default:
		km, err := keymap.NewString(nil)
		if err != nil {
			return like, false, err
		}
		like = sqlarchive.TableInfo{Keymap: km.String(), KeymapVersion: keymap.Version, Codec: dialect.JSON}
	}
	like.Name, like.Table, like.FuncVersion = name, "", ""
	if !found && c.codec.codec != nil {
		like.Codec = *c.codec.codec
	}
	if !found && c.ttl.ttl != nil {
		like.TTL = *c.ttl.ttl
	}
	if exists {
		// Creates nothing: checks the archive against like.
		if _, err := sqlarchive.CreateLike(ctx, a.Archive, like); err != nil {
			return like, exists, err
		}
	}
	return like, exists, nil
}

// importBatch is how many rows import writes with one PutRows.
const importBatch = 1000

// write writes rows into the archive info describes, in one transaction.
func (c *importCommand) write(ctx context.Context, a *archive, info sqlarchive.TableInfo, rows []sqltable.Row[[]byte]) (err error) {
	tx, err := a.pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	t, err := openEntries(ctx, tx, a.Dialect(), info)
	if err != nil {
		return errors.Join(err, tx.Rollback())
	}
	defer func() {
		err = errors.Join(err, t.Close())
		if err == nil {
			err = ctx.Err() // interrupted: commit nothing
		}
		if err != nil {
			err = errors.Join(err, ignoreDone(tx.Rollback()))
			return
		}
		err = tx.Commit()
	}()
	for batch := range slices.Chunk(rows, importBatch) {
		if err := t.PutRows(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

// lineReader reads the lines of an import.
type lineReader struct {
	r        *bufio.Reader
	source   string // the input's name in errors: stdin or the file
	progress *bar
	n        int    // the number of the last line read
	last     []byte // the last line read
	unread   bool   // whether next returns the last line again
}

// next returns the next line, its number in l.n, or io.EOF after the last.
func (l *lineReader) next() ([]byte, error) {
	if l.unread {
		l.unread = false
		return l.last, nil
	}
	text, err := l.r.ReadBytes('\n')
	switch {
	case errors.Is(err, io.EOF) && len(text) == 0:
		return nil, io.EOF
	case err != nil && !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("read %s: %w", l.source, err)
	}
	l.n++
	l.last = text
	l.progress.add(len(text))
	return text, nil
}

// header reads the first line and returns the archive it describes if it
// is a header, as export writes first. Otherwise the line is left for
// records.
func (l *lineReader) header() (sqlarchive.TableInfo, bool, error) {
	text, err := l.next()
	if errors.Is(err, io.EOF) {
		return sqlarchive.TableInfo{}, false, nil
	}
	if err != nil {
		return sqlarchive.TableInfo{}, false, err
	}
	info, found, err := parseHeader(text)
	if err != nil {
		return info, false, fmt.Errorf("%s line %d: %w; nothing imported", l.source, l.n, err)
	}
	l.unread = !found
	return info, found, nil
}

// records reads and checks the remaining lines, the entries of an archive
// of codec codec.
func (l *lineReader) records(codec dialect.Codec) ([]sqltable.Row[[]byte], error) {
	var rows []sqltable.Row[[]byte]
	for {
		text, err := l.next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		row, err := parseRecord(text, codec)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w; nothing imported", l.source, l.n, err)
		}
		rows = append(rows, row)
	}
}

// parseHeader returns the archive that line describes, if it is a header:
// a JSON object whose only member is "archive" (see header).
func parseHeader(line []byte) (sqlarchive.TableInfo, bool, error) {
	var members map[string]json.RawMessage
	if json.Unmarshal(line, &members) != nil || members["archive"] == nil {
		return sqlarchive.TableInfo{}, false, nil
	}
	var h struct {
		Archive struct {
			Name          *string        `json:"name"`
			FuncVersion   *string        `json:"func_version"`
			Codec         *dialect.Codec `json:"codec"`
			Keymap        *string        `json:"keymap"`
			KeymapVersion *int           `json:"keymap_version"`
			TTLNanos      *int64         `json:"ttl_ns"`
		} `json:"archive"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return sqlarchive.TableInfo{}, true, fmt.Errorf("header: %w", err)
	}
	ha := h.Archive
	switch {
	case ha.Codec == nil:
		return sqlarchive.TableInfo{}, true, errors.New(`header: no "codec"`)
	case ha.Keymap == nil:
		return sqlarchive.TableInfo{}, true, errors.New(`header: no "keymap"`)
	case ha.KeymapVersion == nil:
		return sqlarchive.TableInfo{}, true, errors.New(`header: no "keymap_version"`)
	case ha.TTLNanos != nil && *ha.TTLNanos < 0:
		return sqlarchive.TableInfo{}, true, fmt.Errorf(`header: negative "ttl_ns" %d`, *ha.TTLNanos)
	}
	info := sqlarchive.TableInfo{Codec: *ha.Codec, Keymap: *ha.Keymap, KeymapVersion: *ha.KeymapVersion}
	if ha.TTLNanos != nil {
		info.TTL = time.Duration(*ha.TTLNanos)
	}
	return info, true, nil
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

// ignoreDone returns err, unless the transaction was over already.
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// importRecord is a line of an import: a record whose fields may be
// missing.
type importRecord struct {
	Key         *string         `json:"key"`
	Args        json.RawMessage `json:"args"`
	Value       json.RawMessage `json:"value"`
	ValueBase64 *string         `json:"value_base64"`
	CreatedAt   *time.Time      `json:"created_at"`
	UpdatedAt   *time.Time      `json:"updated_at"`
	ExpiresAt   *time.Time      `json:"expires_at"`
}

// parseRecord returns the row of one line of an import into an archive
// of codec codec.
func parseRecord(line []byte, codec dialect.Codec) (sqltable.Row[[]byte], error) {
	line = bytes.TrimSpace(line)
	if line[0] != '{' {
		return sqltable.Row[[]byte]{}, errors.New("want a JSON object, as export writes")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var rec importRecord
	if err := dec.Decode(&rec); err != nil {
		return sqltable.Row[[]byte]{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return sqltable.Row[[]byte]{}, errors.New("more than one JSON value on the line")
	}
	if rec.Key == nil {
		return sqltable.Row[[]byte]{}, errors.New(`no "key"`)
	}
	key, err := parseKey(*rec.Key)
	if err != nil {
		return sqltable.Row[[]byte]{}, err
	}
	row := sqltable.Row[[]byte]{Key: key}
	if !bytes.Equal(rec.Args, []byte("null")) {
		row.Args = rec.Args
	}
	switch {
	case codec == dialect.JSON && rec.ValueBase64 != nil:
		return row, errors.New(`"value_base64" holds the bytes of codecs raw and gob, and the archive stores json: want "value"`)
	case codec == dialect.JSON && rec.Value == nil:
		return row, errors.New(`no "value"`)
	case codec == dialect.JSON:
		row.Value = rec.Value
	case rec.Value != nil:
		return row, fmt.Errorf(`"value" holds JSON, and the archive stores %v: want "value_base64"`, codec)
	case rec.ValueBase64 == nil:
		return row, errors.New(`no "value_base64"`)
	default:
		if row.Value, err = base64.StdEncoding.DecodeString(*rec.ValueBase64); err != nil {
			return row, fmt.Errorf(`"value_base64": %w`, err)
		}
	}
	for _, t := range []struct {
		dst *time.Time
		src *time.Time
	}{{&row.CreatedAt, rec.CreatedAt}, {&row.UpdatedAt, rec.UpdatedAt}, {&row.ExpiresAt, rec.ExpiresAt}} {
		if t.src != nil {
			*t.dst = t.src.UTC()
		}
	}
	return row, nil
}

// codecFlag is the value of a -codec flag that may be left out.
type codecFlag struct{ codec *dialect.Codec }

func (f *codecFlag) String() string {
	if f.codec == nil {
		return ""
	}
	return f.codec.String()
}

func (f *codecFlag) Set(s string) error {
	c, err := dialect.ParseCodec(s)
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

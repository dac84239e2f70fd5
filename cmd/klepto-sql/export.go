package main

import (
	"bytes"
	"context"
	"flag"
	"io"

	"github.com/klepto-sql/klepto/sqlarchive"
)

// exportCommand writes the entries of an archive as JSON Lines.
type exportCommand struct {
	*env
	db      string
	out     string
	skipBad bool
}

func (c *exportCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "export",
		args:    "NAME",
		need:    []string{"NAME"},
		max:     1,
		summary: "write the entries of an archive as JSON Lines",
		text: `Export writes a header with the settings of the archive NAME, then every entry
that has not expired, one JSON object a line, in the order of the key hashes
(the same in every database):

  {"archive":{"name":"fib","func_version":"","codec":"json","keymap":"string",
   "keymap_version":1,"ttl_ns":0}}
  {"key":"(n=10)","args":{"n":10},"value":55,
   "created_at":"2026-11-27T08:00:00.123Z","updated_at":"…","expires_at":null}

The header gives the archive's name, function version, codec, keymap (as
ls shows it), keymap version and TTL in nanoseconds (0 for none), and the
bounds of a bounded archive (max_entries, max_bytes, evict), with which
import creates the archive so that its programs open it alike.

key is the key text as stored (base64:… for binary keys), args the arguments
of the call (null if not recorded), value the JSON value for archives of
codec json, and value_base64 the stored bytes instead for codecs raw and gob.
Times are RFC 3339 in UTC; expires_at is null for entries that never expire.
JSON is written canonically (no spaces, object members sorted), so exports of
one archive from different databases are identical files, as far as the
databases keep the same times: PostgreSQL and MySQL keep microseconds,
SQLite milliseconds. import reads the file back.

A row that cannot be read, written by other tools or damaged (such as one
whose key_hash is not the SHA-256 of its key_text), stops the export with an
error naming the table and the key; with -skip-bad, such rows are skipped,
and their number, with the first few, is written to stderr.

With -o, a regular file appears complete or not at all, written to a
temporary file renamed over it; a new file gets the mode 0666 less the
umask, an existing one keeps its mode. A device, a FIFO or /dev/stdout is
written directly, never replaced. A progress bar is drawn on stderr when it
is a terminal.`,
		examples: []string{
			"klepto-sql export fib -o fib.jsonl",
			"klepto-sql export fib | jq -c 'select(.value > 1000)'",
		},
	}
}

func (c *exportCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	fs.StringVar(&c.out, "o", "", "write to `FILE` instead of stdout")
	skipBadFlag(fs, &c.skipBad)
}

func (c *exportCommand) Run(ctx context.Context, args []string) (err error) {
	name := args[0]
	a, err := c.openArchive(ctx, c.db, false)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, a) }()
	if _, err := a.info(ctx, name); err != nil {
		return err
	}
	if c.out == "" || c.out == "/dev/stdout" {
		return c.export(ctx, c.stdout, a, name)
	}
	return writeFileAtomic(c.out, func(w io.Writer) error { return c.export(ctx, w, a, name) })
}

// export writes the archive called name to w.
func (c *exportCommand) export(ctx context.Context, w io.Writer, a *archive, name string) error {
	if isTerminal(c.stderr) {
		s, err := a.Stats(ctx, name)
		if err != nil {
			return err
		}
		progress := c.progress(s.Rows-s.Expired, "export "+name, false)
		defer progress.finish()
		w = &entryCounter{w: w, progress: progress, header: true}
	}
	res, err := sqlarchive.Dump(ctx, a.Archive, name, w, &sqlarchive.DumpOptions{SkipBadRows: c.skipBad})
	reportSkipped(c.stderr, name, res.Skipped, res.BadRows)
	return badRowHint(err)
}

// entryCounter passes writes on to w, advancing progress by the entries
// they end, the lines after the header.
type entryCounter struct {
	w        io.Writer
	progress *bar
	header   bool // whether the header's line is yet to end
}

func (c *entryCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	lines := bytes.Count(p[:n], []byte("\n"))
	if c.header && lines > 0 {
		c.header = false
		lines--
	}
	c.progress.add(lines)
	return n, err
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// exportCommand writes the entries of an archive as JSON Lines.
type exportCommand struct {
	*env
	db  string
	out string
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
ls shows it), keymap version and TTL in nanoseconds (0 for none), with
which import creates the archive so that its programs open it alike.

key is the key text as stored (base64:… for binary keys), args the arguments
of the call (null if not recorded), value the JSON value for archives of
codec json, and value_base64 the stored bytes instead for codecs raw and gob.
Times are RFC 3339 in UTC; expires_at is null for entries that never expire.
JSON is written canonically (no spaces, object members sorted), so exports of
one archive from different databases are identical files, as far as the
databases keep the same times: PostgreSQL and MySQL keep microseconds,
SQLite milliseconds. import reads the file back.

With -o, the file appears complete or not at all. A progress bar is drawn on
stderr when it is a terminal.`,
		examples: []string{
			"klepto-sql export fib -o fib.jsonl",
			"klepto-sql export fib | jq -c 'select(.value > 1000)'",
		},
	}
}

func (c *exportCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	fs.StringVar(&c.out, "o", "", "write to `FILE` instead of stdout")
}

// header is the first line of an export: the settings of the archive,
// with which import creates it, so that its programs open it alike.
type header struct {
	Archive headerArchive `json:"archive"`
}

// headerArchive is the catalog row of an archive, in a header.
type headerArchive struct {
	Name          string        `json:"name"`
	FuncVersion   string        `json:"func_version"`
	Codec         dialect.Codec `json:"codec"`
	Keymap        string        `json:"keymap"`
	KeymapVersion int           `json:"keymap_version"`
	TTLNanos      int64         `json:"ttl_ns"` // 0 for entries that live for ever
}

// record is one line of an export: an entry with all its row holds.
type record struct {
	Key         string          `json:"key"`                   // the key text as stored
	Args        json.RawMessage `json:"args"`                  // null if not recorded
	Value       json.RawMessage `json:"value,omitzero"`        // codec json
	ValueBase64 []byte          `json:"value_base64,omitzero"` // codecs raw and gob
	CreatedAt   timestamp       `json:"created_at"`
	UpdatedAt   timestamp       `json:"updated_at"`
	ExpiresAt   timestamp       `json:"expires_at"`
}

// newRecord returns the record of r, a row of an archive of codec codec.
func newRecord(r sqltable.Row[[]byte], codec dialect.Codec) (record, error) {
	rec := record{
		Key:       keyText(r.Key),
		CreatedAt: timestamp(r.CreatedAt),
		UpdatedAt: timestamp(r.UpdatedAt),
		ExpiresAt: timestamp(r.ExpiresAt),
	}
	var err error
	if rec.Args, err = canonicalJSON(r.Args); err != nil {
		return record{}, fmt.Errorf("key %q: args: %w", rec.Key, err)
	}
	if codec != dialect.JSON {
		rec.ValueBase64 = r.Value
		if rec.ValueBase64 == nil {
			rec.ValueBase64 = []byte{}
		}
		return rec, nil
	}
	if rec.Value, err = canonicalJSON(r.Value); err != nil {
		return record{}, fmt.Errorf("key %q: value: %w", rec.Key, err)
	}
	return rec, nil
}

func (c *exportCommand) Run(ctx context.Context, args []string) error {
	name := args[0]
	return c.withEntries(ctx, c.db, name, func(a *archive, info sqlarchive.TableInfo, t entries) error {
		if c.out == "" {
			return c.export(ctx, c.stdout, info, t)
		}
		return writeFileAtomic(c.out, func(w io.Writer) error { return c.export(ctx, w, info, t) })
	})
}

// export writes the records of t to w.
func (c *exportCommand) export(ctx context.Context, w io.Writer, info sqlarchive.TableInfo, t entries) error {
	var progress *bar
	if isTerminal(c.stderr) {
		n, err := t.Len(ctx)
		if err != nil {
			return err
		}
		progress = c.progress(int64(n), "export "+info.Name, false)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := writeJSON(bw, header{headerArchive{
		Name:          info.Name,
		FuncVersion:   info.FuncVersion,
		Codec:         info.Codec,
		Keymap:        info.Keymap,
		KeymapVersion: info.KeymapVersion,
		TTLNanos:      int64(info.TTL),
	}}); err != nil {
		return err
	}
	for r, err := range t.Rows(ctx) {
		if err != nil {
			return err
		}
		rec, err := newRecord(r, info.Codec)
		if err != nil {
			return err
		}
		if err := writeJSON(bw, rec); err != nil {
			return err
		}
		progress.add(1)
	}
	progress.finish()
	return bw.Flush()
}

// writeFileAtomic writes the file at path with write, through a temporary
// file in the same folder renamed into place at the end, so that the file
// appears complete or not at all.
func writeFileAtomic(path string, write func(w io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

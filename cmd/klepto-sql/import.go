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
	"time"

	"github.com/klepto-sql/klepto/dialect"
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
it if needed (with -codec and -ttl, as create does). Entries keep their
arguments and timestamps, expires_at included; an entry the archive holds
already is overwritten, but keeps the time it was first written (created_at).
Only key and value (or value_base64) are required; missing times are now, a
missing expires_at is never. Blank lines are skipped.

Every line is checked and written in one transaction: a malformed line, named
by its number, or any other error, imports nothing. So export, import into
another archive or database, and export again give identical files.
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
	fs.Var(&c.codec, "codec", "the `codec` of the archive if import creates it: json (the default), gob or raw")
	fs.Var(&c.ttl, "ttl", "the TTL of the archive if import creates it: a duration `D` such as 24h; default none")
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

	_, err = a.Info(ctx, name)
	created := errors.Is(err, sqlarchive.ErrNotFound)
	if err != nil && !created {
		return err
	}
	t, err := sqlarchive.Table[[]byte](ctx, a.Archive, name, &sqlarchive.TableOptions{Codec: c.codec.codec, TTL: c.ttl.ttl})
	if err != nil {
		return err
	}
	if err := t.Close(); err != nil {
		return err
	}
	info, err := a.info(ctx, name)
	if err != nil {
		return err
	}
	n, err := c.importAll(ctx, a, info, in, source, size)
	if err != nil {
		if created { // leave no empty archive behind
			err = errors.Join(err, a.Drop(context.WithoutCancel(ctx), name))
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

// importBatch is how many rows import writes with one PutRows.
const importBatch = 1000

// importAll imports the lines of in, of size bytes (-1 if unknown), into
// the archive info describes, in one transaction, and returns how many
// entries it read.
func (c *importCommand) importAll(ctx context.Context, a *archive, info sqlarchive.TableInfo, in io.Reader, source string, size int64) (n int, err error) {
	tx, err := a.pool.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	t, err := openEntries(ctx, tx, a.Dialect(), info)
	if err != nil {
		return 0, errors.Join(err, tx.Rollback())
	}
	defer func() {
		err = errors.Join(err, t.Close())
		if err != nil {
			err = errors.Join(err, ignoreDone(tx.Rollback()))
			return
		}
		err = tx.Commit()
	}()

	progress := c.progress(size, "import "+info.Name, true)
	defer progress.finish()
	r := bufio.NewReaderSize(in, 64<<10)
	batch := make([]sqltable.Row[[]byte], 0, importBatch)
	for line := 1; ; line++ {
		text, rerr := r.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return n, fmt.Errorf("read %s: %w", source, rerr)
		}
		progress.add(len(text))
		if len(bytes.TrimSpace(text)) > 0 {
			row, err := parseRecord(text, info.Codec)
			if err != nil {
				return n, fmt.Errorf("%s line %d: %w; nothing imported", source, line, err)
			}
			batch = append(batch, row)
			n++
		}
		if len(batch) == importBatch || rerr != nil && len(batch) > 0 {
			if err := t.PutRows(ctx, batch); err != nil {
				return n, fmt.Errorf("%w; nothing imported", err)
			}
			batch = batch[:0]
		}
		if rerr != nil {
			return n, nil
		}
	}
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

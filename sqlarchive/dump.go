package sqlarchive

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/internal/keyfmt"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// The dump format is JSON Lines: a header, the settings of the archive,
// then one Record a line, for example
//
//	{"archive":{"name":"fib","func_version":"","codec":"json","keymap":"string","keymap_version":1,"ttl_ns":0}}
//	{"key":"(n=10)","args":{"n":10},"value":55,"created_at":"2026-11-27T08:00:00.123Z","updated_at":"…","expires_at":null}
//
// A header gives the archive's bounds too, if it has any:
// "max_entries", "max_bytes" and "evict" ("lru" or "lfu"; left out for
// the default, "lrs"). Load creates an archive with them, and leaves those
// of an archive that exists as they are. It reads files without a header
// too, as older versions wrote them.

// header is the first line of a dump: the settings of the archive, with
// which Load creates it, so that its programs open it alike.
type header struct {
	Archive headerArchive `json:"archive"`
}

// headerArchive is the catalog row of an archive, in a header.
type headerArchive struct {
	Name          string      `json:"name"`
	FuncVersion   string      `json:"func_version"`
	Codec         codec.Codec `json:"codec"`
	Keymap        string      `json:"keymap"`
	KeymapVersion int         `json:"keymap_version"`
	TTLNanos      int64       `json:"ttl_ns"` // 0 for entries that live for ever
	// The bounds, left out when there are none.
	MaxEntries int64  `json:"max_entries,omitzero"`
	MaxBytes   int64  `json:"max_bytes,omitzero"`
	Evict      string `json:"evict,omitzero"`
}

// Record is an entry as a line of a dump holds it, written by Dump and
// read by Load. Its JSON form is the line.
type Record struct {
	Key         string          `json:"key"`                   // the key text as stored (sqltable.EncodeKeyText)
	Args        json.RawMessage `json:"args"`                  // canonical JSON; nil (null) if not recorded
	Value       json.RawMessage `json:"value,omitzero"`        // canonical JSON, for codec json
	ValueBase64 []byte          `json:"value_base64,omitzero"` // the stored bytes, for codecs raw and gob
	CreatedAt   *time.Time      `json:"created_at"`            // in UTC
	UpdatedAt   *time.Time      `json:"updated_at"`            // in UTC
	ExpiresAt   *time.Time      `json:"expires_at"`            // in UTC; nil for never
}

// NewRecord returns the Record of r, an entry of an archive of codec
// c whose value is as stored: JSON text for codec json, bytes for raw
// and gob. Args and a JSON value are written canonically: without
// insignificant space, object members sorted by name (the last of
// duplicates kept), and each number in one form, the shortest exact
// decimal one (2.50 is 2.5, 1e-7 and 0.0000001 are 1e-7), so that entries
// read from different databases, which normalize JSON differently, give
// the same Record. A zero time is nil.
func NewRecord(r sqltable.Row[[]byte], c codec.Codec) (Record, error) {
	rec, err := newRecord(r, c)
	if err != nil {
		return Record{}, fmt.Errorf("sqlarchive: %w", err)
	}
	return rec, nil
}

// newRecord is NewRecord, with errors that Dump wraps.
func newRecord(r sqltable.Row[[]byte], c codec.Codec) (Record, error) {
	rec := Record{
		Key:       sqltable.EncodeKeyText(r.Key.Text),
		CreatedAt: timeOrNil(r.CreatedAt),
		UpdatedAt: timeOrNil(r.UpdatedAt),
		ExpiresAt: timeOrNil(r.ExpiresAt),
	}
	var err error
	if rec.Args, err = canonicalJSON(r.Args); err != nil {
		return Record{}, fmt.Errorf("key %s: args: %w", keyfmt.Text(rec.Key), err)
	}
	if c != codec.JSON {
		rec.ValueBase64 = r.Value
		if rec.ValueBase64 == nil {
			rec.ValueBase64 = []byte{}
		}
		return rec, nil
	}
	if rec.Value, err = canonicalJSON(r.Value); err != nil {
		return Record{}, fmt.Errorf("key %s: value: %w", keyfmt.Text(rec.Key), err)
	}
	return rec, nil
}

// timeOrNil returns tm in UTC, or nil for the zero time.
func timeOrNil(tm time.Time) *time.Time {
	if tm.IsZero() {
		return nil
	}
	tm = tm.UTC()
	return &tm
}

// DumpOptions configure [Dump]. A nil *DumpOptions and the zero value
// both mean: stop at the first bad row.
type DumpOptions struct {
	// SkipBadRows makes Dump skip the rows of the archive's table that
	// cannot be read (see sqltable.BadRowError), such as rows that other
	// tools wrote with a key_hash that is not the SHA-256 of their
	// key_text, and report them in the DumpResult, rather than stop at
	// the first. Default false.
	SkipBadRows bool
}

// DumpResult is what [Dump] did.
type DumpResult struct {
	Entries int // the entries written
	Skipped int // the bad rows skipped, with DumpOptions.SkipBadRows
	// BadRows are the first MaxBadRows of the rows skipped.
	BadRows []*sqltable.BadRowError
}

// MaxBadRows is how many of the bad rows they skip DumpResult and
// CopyResult keep.
const MaxBadRows = 10

// badRows counts the bad rows skipped, and keeps the first MaxBadRows.
type badRows struct {
	skipped int
	first   []*sqltable.BadRowError
}

// skip records bad as skipped.
func (b *badRows) skip(bad *sqltable.BadRowError) {
	b.skipped++
	if len(b.first) < MaxBadRows {
		b.first = append(b.first, bad)
	}
}

// Dump writes the archive called name to w as JSON Lines: first a header
// with the archive's name, function version, codec, keymap, keymap version
// and TTL, then, one Record a line, every entry that has not expired, in
// the order of the key hashes (the same in every database). Values are
// written as stored, never decoded: JSON for codec json, base64 for raw
// and gob. So dumps of one archive from different databases are
// identical, as far as the databases keep the same times (PostgreSQL and
// MySQL keep microseconds, SQLite milliseconds). Load reads them back.
// opts may be nil.
//
// Dump reads the entries in pages, not in one transaction: entries
// written meanwhile may or may not appear. It returns an error wrapping
// ErrNotFound if the catalog has no archive called name, and one wrapping
// ErrBrokenCatalog if its catalog row is broken. A row of the table that
// cannot be read stops Dump with an error wrapping the
// *sqltable.BadRowError, which names the table and the key; with
// opts.SkipBadRows, Dump skips it and goes on.
func Dump(ctx context.Context, a *Archive, name string, w io.Writer, opts *DumpOptions) (res DumpResult, err error) {
	var o DumpOptions
	if opts != nil {
		o = *opts
	}
	if a == nil {
		return res, errmark.Errorf(ErrInvalidOptions, "sqlarchive: dump: nil *Archive")
	}
	t, info, err := Stored(ctx, a, name, nil)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, tableError(info.Name, info.Table, t.Close())) }()
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := writeJSON(bw, header{headerArchive{
		Name:          info.Name,
		FuncVersion:   info.FuncVersion,
		Codec:         info.Codec,
		Keymap:        info.Keymap,
		KeymapVersion: info.KeymapVersion,
		TTLNanos:      int64(info.TTL),
		MaxEntries:    info.Bounds.MaxEntries,
		MaxBytes:      info.Bounds.MaxBytes,
		Evict:         boundsEvict(info.Bounds),
	}}); err != nil {
		return res, fmt.Errorf("sqlarchive: dump %q: %w", name, err)
	}
	var bad *badRows
	if o.SkipBadRows {
		bad = new(badRows)
	}
	res.Entries, err = dumpRows(ctx, t, info, bw, bad)
	if bad != nil {
		res.Skipped, res.BadRows = bad.skipped, bad.first
	}
	if err != nil {
		return res, err
	}
	if err := bw.Flush(); err != nil {
		return res, fmt.Errorf("sqlarchive: dump %q: %w", name, err)
	}
	return res, nil
}

// dumpRows writes the entries of t, the table of the archive info
// describes, to w, and skips the bad rows into bad unless it is nil. Its
// errors name the archive, or the table (see tableError).
func dumpRows(ctx context.Context, t *sqltable.Table[[]byte], info TableInfo, w io.Writer, bad *badRows) (n int, err error) {
	for r, err := range t.Rows(ctx) {
		if b, ok := errors.AsType[*sqltable.BadRowError](err); ok && bad != nil {
			bad.skip(b)
			continue
		}
		if err != nil {
			return n, tableError(info.Name, info.Table, err)
		}
		rec, err := newRecord(r, info.Codec)
		if err == nil {
			err = writeJSON(w, rec)
		}
		if err != nil {
			return n, fmt.Errorf("sqlarchive: dump %q: %w", info.Name, err)
		}
		n++
	}
	return n, nil
}

// LoadOptions configures Load. The zero value is ready to use.
type LoadOptions struct {
	// Codec and TTL are those of the archive Load creates from input
	// without a header; by default codec json and no TTL (or those of the
	// archive, if it exists). If the input has a header, they must agree
	// with it, or Load returns a *HeaderError.
	Codec *codec.Codec
	TTL   *time.Duration

	// Source names the input in errors, such as the name of its file;
	// default "input".
	Source string

	// Progress, if set, is called after each line is read, with its
	// length in bytes, newline included, on the goroutine of Load.
	Progress func(bytes int)

	// TempDir is the folder of the temporary file in which Load keeps the
	// checked input beyond its first 4 MB; default os.TempDir().
	TempDir string
}

// HeaderError reports LoadOptions that contradict the header of the input.
type HeaderError struct {
	Source string // LoadOptions.Source
	Field  string // "codec" or "TTL"
	Header string // the value in the header
	Option string // the value in LoadOptions
}

// Error returns, for example,
// `sqlarchive: codec json contradicts the header of fib.jsonl, which gives codec raw`.
func (e *HeaderError) Error() string {
	return fmt.Sprintf("sqlarchive: %s %s contradicts the header of %s, which gives %s %s",
		e.Field, e.Option, e.Source, e.Field, e.Header)
}

// loadBatch is how many rows Load writes with one PutRows, at most.
const loadBatch = 1000

// loadBatchBytes is how many bytes of input lines Load writes with one
// PutRows, at most, unless one line is longer.
const loadBatchBytes = 4 << 20

// Load reads a dump, as Dump writes it, from r into the archive called
// name, and returns how many entries it stored: the number of distinct
// keys, a key given on several lines counted once (the last line wins).
// opts may be nil.
//
// If the catalog has no archive called name, Load creates it as
// CreateLike does, with the codec, keymap, keymap version and TTL of the
// header (the header's name and function version are not used), or, for
// input without a header, with opts.Codec and opts.TTL and the string
// keymap. An archive that exists must have the same settings, or Load
// returns a *MismatchError.
//
// Every line is read and checked before anything is written, so that a
// malformed line, named by its number, writes nothing and no transaction
// waits for input; blank lines are skipped. The checked lines are kept in
// memory up to 4 MB, then in a temporary file in opts.TempDir, removed
// when Load returns, so that memory does not grow with the input: only by
// some 40 bytes a distinct key, to count them. Then all entries are
// written in one transaction, in batches: on any error, cancellation
// included, none is. An
// archive Load created is left in place, empty, if writing fails: other
// programs may have written into it meanwhile. Entries keep their
// arguments and times, expires_at included; an entry the archive holds
// already is overwritten but keeps its created_at. Only key and value (or
// value_base64) are required; missing times are now, a missing
// expires_at is never.
func Load(ctx context.Context, a *Archive, name string, r io.Reader, opts *LoadOptions) (n int, err error) {
	var o LoadOptions
	if opts != nil {
		o = *opts
	}
	if o.Source == "" {
		o.Source = "input"
	}
	if a == nil {
		return 0, errmark.Errorf(ErrInvalidOptions, "sqlarchive: load: nil *Archive")
	}
	if err := a.check(); err != nil {
		return 0, err
	}
	if _, _, err := TableName(name); err != nil {
		return 0, err
	}
	lines := &lineReader{r: bufio.NewReaderSize(r, 64<<10), source: o.Source, progress: o.Progress}
	like, err := a.loadTarget(ctx, name, lines, &o)
	if err != nil {
		return 0, err
	}
	sp := &spool{dir: o.TempDir}
	defer func() {
		if cerr := sp.close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("sqlarchive: load %q: temporary file: %w", name, cerr))
		}
	}()
	n, err = lines.records(ctx, like.Codec, sp)
	if err != nil {
		return 0, fmt.Errorf("sqlarchive: load %q: %w", name, err)
	}
	// Checks the archive again, had another program made it, or dropped
	// and made it anew, while the input was read.
	info, err := CreateLike(ctx, a, like)
	if err != nil {
		return 0, err
	}
	checked, err := sp.reader()
	if err != nil {
		return 0, fmt.Errorf("sqlarchive: load %q: temporary file: %w", name, err)
	}
	if err := a.writeRows(ctx, info, like.Codec, checked); err != nil {
		return 0, err
	}
	return n, nil
}

// loadTarget returns the archive called name that Load writes into, as
// CreateLike takes it. Its codec, keymap and TTL are those of the header
// of the input, which it reads from lines if the input has one, else those
// of the archive if it exists, else those of o. o and an existing archive
// must agree with them.
func (a *Archive) loadTarget(ctx context.Context, name string, lines *lineReader, o *LoadOptions) (TableInfo, error) {
	like, found, err := lines.header()
	if err != nil {
		return like, fmt.Errorf("sqlarchive: load %q: %w", name, err)
	}
	stored, err := a.Info(ctx, name)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return like, err
	}
	switch {
	case found:
		if o.Codec != nil && *o.Codec != like.Codec {
			return like, &HeaderError{Source: o.Source, Field: "codec", Header: like.Codec.String(), Option: o.Codec.String()}
		}
		if o.TTL != nil && *o.TTL != like.TTL {
			return like, &HeaderError{Source: o.Source, Field: "TTL", Header: like.TTL.String(), Option: o.TTL.String()}
		}
	case exists:
		like = stored
	default:
		like = TableInfo{Keymap: defaultKeymap(), KeymapVersion: keymap.Version, Codec: codec.JSON}
	}
	like.Name, like.Table, like.FuncVersion = name, "", ""
	if !found && o.Codec != nil {
		like.Codec = *o.Codec
	}
	if !found && o.TTL != nil {
		like.TTL = *o.TTL
	}
	if exists {
		// Creates nothing: checks the archive against like.
		if _, err := CreateLike(ctx, a, like); err != nil {
			return like, err
		}
	}
	return like, nil
}

// writeRows writes the entries of checked, lines of a dump that records
// checked for an archive of codec c, into the archive like describes, in
// one transaction, for Load. Its errors name the archive, or the table
// (see tableError).
func (a *Archive) writeRows(ctx context.Context, like TableInfo, c codec.Codec, checked *bufio.Reader) (err error) {
	loadError := func(err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("sqlarchive: load %q: %w", like.Name, err)
	}
	var tx *sql.Tx
	err = a.d.RetryBusy(ctx, func() (err error) {
		tx, err = a.db.BeginTx(ctx, nil)
		return err
	})
	if err != nil {
		return loadError(err)
	}
	defer func() {
		if err == nil {
			err = loadError(ctx.Err()) // canceled: commit nothing
		}
		if err != nil {
			err = errors.Join(err, loadError(ignoreDone(tx.Rollback())))
			return
		}
		err = loadError(tx.Commit())
	}()
	t, info, err := Stored(ctx, a, like.Name, &StoredOptions{Tx: tx})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, tableError(info.Name, info.Table, t.Close())) }()
	if info.Codec != c { // made anew since the lines were checked
		return &MismatchError{Name: info.Name, Field: "codec", Stored: info.Codec.String(), Requested: c.String()}
	}
	batch := make([]sqltable.Row[[]byte], 0, loadBatch)
	size := 0
	for {
		line, rerr := checked.ReadBytes('\n')
		if len(line) > 0 {
			row, err := parseRecord(line, c)
			if err != nil {
				return loadError(fmt.Errorf("temporary file: %w", err))
			}
			batch = append(batch, row)
			size += len(line)
		}
		switch {
		case rerr != nil && !errors.Is(rerr, io.EOF):
			return loadError(fmt.Errorf("temporary file: %w", rerr))
		case len(batch) == 0:
		case rerr != nil, len(batch) == loadBatch, size >= loadBatchBytes:
			if err := t.PutRows(ctx, batch); err != nil {
				return tableError(info.Name, info.Table, err)
			}
			clear(batch) // for the garbage collector
			batch, size = batch[:0], 0
		}
		if rerr != nil {
			return nil
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

// lineReader reads the lines of a dump.
type lineReader struct {
	r        *bufio.Reader
	source   string          // the input's name in errors
	progress func(bytes int) // LoadOptions.Progress, or nil
	n        int             // the number of the last line read
	last     []byte          // the last line read
	unread   bool            // whether next returns the last line again
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
	if l.progress != nil {
		l.progress(len(text))
	}
	return text, nil
}

// header reads the first line and returns the archive it describes if it
// is a header, as Dump writes first. Otherwise the line is left for
// records.
func (l *lineReader) header() (TableInfo, bool, error) {
	text, err := l.next()
	if errors.Is(err, io.EOF) {
		return TableInfo{}, false, nil
	}
	if err != nil {
		return TableInfo{}, false, err
	}
	info, found, err := parseHeader(text)
	if err != nil {
		return info, false, fmt.Errorf("%s line %d: %w", l.source, l.n, err)
	}
	l.unread = !found
	return info, found, nil
}

// records reads and checks the remaining lines, the entries of an archive
// of codec c, adds them to sp, and returns how many distinct keys they
// hold.
func (l *lineReader) records(ctx context.Context, c codec.Codec, sp *spool) (int, error) {
	// The first half of each key hash, a SHA-256: distinct keys collide
	// with a chance of n²/2¹²⁹, none in practice.
	keys := make(map[[16]byte]struct{})
	for {
		if l.n%1000 == 0 && ctx.Err() != nil {
			return 0, context.Cause(ctx)
		}
		text, err := l.next()
		if errors.Is(err, io.EOF) {
			return len(keys), nil
		}
		if err != nil {
			return 0, err
		}
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		row, err := parseRecord(text, c)
		if err != nil {
			return 0, fmt.Errorf("%s line %d: %w", l.source, l.n, err)
		}
		keys[[16]byte(row.Key.Hash[:16])] = struct{}{}
		if err := sp.add(text); err != nil {
			return 0, fmt.Errorf("temporary file: %w", err)
		}
	}
}

// boundsEvict returns the eviction order of b as a header gives it: ""
// for the default, EvictLRS.
func boundsEvict(b sqltable.Bounds) string {
	if b.Evict == sqltable.EvictLRS {
		return ""
	}
	return b.Evict.String()
}

// parseHeader returns the archive that line describes, if it is a header:
// a JSON object whose only member is "archive" (see header).
func parseHeader(line []byte) (TableInfo, bool, error) {
	var members map[string]json.RawMessage
	if json.Unmarshal(line, &members) != nil || members["archive"] == nil {
		return TableInfo{}, false, nil
	}
	var h struct {
		Archive struct {
			Name          *string      `json:"name"`
			FuncVersion   *string      `json:"func_version"`
			Codec         *codec.Codec `json:"codec"`
			Keymap        *string      `json:"keymap"`
			KeymapVersion *int         `json:"keymap_version"`
			TTLNanos      *int64       `json:"ttl_ns"`
			MaxEntries    int64        `json:"max_entries"`
			MaxBytes      int64        `json:"max_bytes"`
			Evict         string       `json:"evict"`
		} `json:"archive"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return TableInfo{}, true, fmt.Errorf("header: %w", err)
	}
	ha := h.Archive
	switch {
	case ha.Codec == nil:
		return TableInfo{}, true, errors.New(`header: no "codec"`)
	case ha.Keymap == nil:
		return TableInfo{}, true, errors.New(`header: no "keymap"`)
	case ha.KeymapVersion == nil:
		return TableInfo{}, true, errors.New(`header: no "keymap_version"`)
	case ha.TTLNanos != nil && *ha.TTLNanos < 0:
		return TableInfo{}, true, fmt.Errorf(`header: negative "ttl_ns" %d`, *ha.TTLNanos)
	}
	evict, err := sqltable.ParseEvict(ha.Evict)
	if err != nil {
		return TableInfo{}, true, fmt.Errorf(`header: "evict": %w`, err)
	}
	bounds := sqltable.Bounds{MaxEntries: ha.MaxEntries, MaxBytes: ha.MaxBytes, Evict: evict}
	if err := bounds.Validate(); err != nil {
		return TableInfo{}, true, fmt.Errorf("header: %w", err)
	}
	info := TableInfo{Codec: *ha.Codec, Keymap: *ha.Keymap, KeymapVersion: *ha.KeymapVersion, Bounds: bounds}
	if ha.TTLNanos != nil {
		info.TTL = time.Duration(*ha.TTLNanos)
	}
	return info, true, nil
}

// loadRecord is a line of a dump as Load reads it: a Record whose fields
// may be missing.
type loadRecord struct {
	Key         *string         `json:"key"`
	Args        json.RawMessage `json:"args"`
	Value       json.RawMessage `json:"value"`
	ValueBase64 *string         `json:"value_base64"`
	CreatedAt   *time.Time      `json:"created_at"`
	UpdatedAt   *time.Time      `json:"updated_at"`
	ExpiresAt   *time.Time      `json:"expires_at"`
}

// parseRecord returns the row of one line of a dump of an archive of
// codec c.
func parseRecord(line []byte, c codec.Codec) (sqltable.Row[[]byte], error) {
	line = bytes.TrimSpace(line)
	if line[0] != '{' {
		return sqltable.Row[[]byte]{}, errors.New("want a JSON object, an entry of a dump")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var rec loadRecord
	if err := dec.Decode(&rec); err != nil {
		return sqltable.Row[[]byte]{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return sqltable.Row[[]byte]{}, errors.New("more than one JSON value on the line")
	}
	if rec.Key == nil {
		return sqltable.Row[[]byte]{}, errors.New(`no "key"`)
	}
	decoded, err := sqltable.DecodeKeyText(*rec.Key)
	if err != nil {
		return sqltable.Row[[]byte]{}, err // it names the key
	}
	row := sqltable.Row[[]byte]{Key: keymap.NewKey(decoded)}
	if !bytes.Equal(rec.Args, []byte("null")) {
		row.Args = rec.Args
	}
	switch {
	case c == codec.JSON && rec.ValueBase64 != nil:
		return row, errors.New(`"value_base64" holds the bytes of codecs raw and gob, and the archive stores json: want "value"`)
	case c == codec.JSON && rec.Value == nil:
		return row, errors.New(`no "value"`)
	case c == codec.JSON:
		row.Value = rec.Value
	case rec.Value != nil:
		return row, fmt.Errorf(`"value" holds JSON, and the archive stores %v: want "value_base64"`, c)
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

// writeJSON writes v as one line of JSON, with <, > and & as they are.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

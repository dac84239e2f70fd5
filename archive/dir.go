package archive

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"iter"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/internal/keyfmt"
	"github.com/klepto-sql/klepto/keymap"
)

// Dir is an archive in a directory, one file per entry: klepto's
// dir_archive, without its flaws. klepto names each entry after the key
// itself, so keys 5 and "5" collide and tuple keys make names Windows
// refuses; Dir names each entry file after the key's hash, which is a valid
// file name on every system, and stores the key text inside the file.
//
// # Concurrency and crashes
//
// A Dir is safe for concurrent use, and any number of processes may share
// one directory without a lock: a write goes to a temporary file in the
// entry's subdirectory, is fsynced, and is renamed over the entry file, and
// the subdirectory is fsynced, before Put returns. Readers see the old entry
// or the new one, never a mix; when two processes write one key, the last
// rename wins. Deleting a missing entry, or one another process deletes at
// the same moment, is not an error. A writer that dies leaves at most a
// temporary file, which readers ignore, and which [OpenDir] and
// [Dir.Clear] remove once it is [StaleTempAge] old: a live writer's
// temporary file is younger, as it is renamed into place as soon as it is
// written.
//
// A Dir renames and removes only regular files: a Put or Delete whose
// entry path holds something else (a device, a named pipe, a directory)
// fails and leaves it alone.
//
// Every method returns ctx.Err() and changes nothing if ctx is done when it
// starts. A Dir holds no open files between calls and has no Close.
//
// WARNING: Windows refuses to rename over a file that is open, so there a
// Put fails if another goroutine or process is reading the entry at that
// moment.
//
// # Layout
//
// The entry for a key whose hash (keymap.Key.Hash) is h lives at
//
//	<dir>/<hh>/<hex>.entry
//
// where <hex> is h in 64 lowercase hexadecimal digits and <hh> is its first
// two, fanning the entries out over up to 256 subdirectories. Temporary
// files are named "." + <hex> + "." + a random part + ".tmp". Other files
// in the directory are ignored.
//
// An entry file holds, with integers little-endian:
//
//	 0     8  magic "KLEPTOE" and format version 0x01
//	 8     1  codec of the value (0 JSON, 1 gob, 2 raw; see [codec.Codec])
//	 9     1  compression of the value: 0 none, 1 gzip
//	10     4  k, the length of the key text
//	14     k  key text
//	14+k      the value, encoded by the codec, then compressed
//	end-4  4  CRC-32C (Castagnoli) of every byte before it
//
// Each entry file names its codec and compression, so a Dir reads entries
// written with any options.
//
// # Damage
//
// An entry file that fails its checksum or is malformed makes [Dir.Get] of
// its key return a [*CorruptError] naming the file; other entries stay
// readable. [Dir.All] yields that error and stops, as [cache.Lister]
// requires.
type Dir[V any] struct {
	dir     string
	codec   codec.Codec
	level   int // gzip level; 0 for none
	perm    fs.FileMode
	dirPerm fs.FileMode

	zw sync.Pool // *gzip.Writer at level
	zr sync.Pool // *gzip.Reader
}

// DirOptions configure a Dir. A nil *DirOptions and the zero value both
// mean: JSON values, no compression, entry files created with mode 0o644
// and directories with 0o755.
type DirOptions struct {
	// Codec encodes the values the Dir writes. Default codec.JSON.
	// codec.Raw needs V to be []byte.
	Codec codec.Codec

	// Compression is the gzip level at which values are compressed, as in
	// klepto: 0, the default, stores them as they are; 1 (fastest) to 9
	// (smallest) compress them with compress/gzip.
	Compression int

	// Perm is the mode, before the umask, of entry files. Default 0o644.
	// Directories get the same mode plus search (x) permission wherever it
	// grants read permission: 0o755 for 0o644, 0o700 for 0o600.
	Perm fs.FileMode
}

const (
	entryMagic   = "KLEPTOE\x01"
	entryHeadLen = 14
	entrySuffix  = ".entry"
	compressNone = 0
	compressGzip = 1
)

// OpenDir opens the directory archive at dir, creating the directory and
// its parents if they do not exist, and removes the stale temporary files
// of writers that died (see "Concurrency and crashes" in [Dir]). opts may
// be nil. It returns an error matching [ErrInvalidOptions] if the options
// are invalid, and one matching [ErrInvalidPath] if dir exists and is not
// a directory (or a symbolic link to one).
func OpenDir[V any](dir string, opts *DirOptions) (*Dir[V], error) {
	var o DirOptions
	if opts != nil {
		o = *opts
	}
	if err := codec.Check[V](o.Codec); err != nil {
		return nil, invalidOptions(err)
	}
	if o.Compression < 0 || o.Compression > gzip.BestCompression {
		return nil, errmark.Errorf(ErrInvalidOptions, "archive: compression level %d out of range [0, 9]", o.Compression)
	}
	if o.Perm == 0 {
		o.Perm = 0o644
	}
	if o.Perm&^fs.ModePerm != 0 {
		return nil, errmark.Errorf(ErrInvalidOptions, "archive: file mode %v has bits other than permissions", o.Perm)
	}
	d := &Dir[V]{
		dir:     dir,
		codec:   o.Codec,
		level:   o.Compression,
		perm:    o.Perm,
		dirPerm: o.Perm | (o.Perm&0o444)>>2,
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("archive: %w", notKind(dir, fi.Mode(), "a directory"))
	}
	if err := os.MkdirAll(dir, d.dirPerm); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	d.removeStaleTemps(context.Background(), time.Now())
	return d, nil
}

// paths returns the subdirectory of the entry for hash, and the entry
// file's name in it.
func (d *Dir[V]) paths(hash [32]byte) (sub, name string) {
	h := hex.EncodeToString(hash[:])
	return filepath.Join(d.dir, h[:2]), h + entrySuffix
}

// Get returns the value stored under key. It returns a [*CorruptError] if
// the key's entry file is damaged.
func (d *Dir[V]) Get(ctx context.Context, key keymap.Key) (V, bool, error) {
	var zero V
	if err := ctx.Err(); err != nil {
		return zero, false, keyError("get", key, err)
	}
	sub, name := d.paths(key.Hash)
	_, v, found, err := d.read(filepath.Join(sub, name))
	if err != nil {
		return zero, false, keyError("get", key, err)
	}
	return v, found, nil
}

// read reads and decodes the entry file at path, and returns its key text
// (with the error too, when the value does not decode) and value. A
// missing file is not found, not an error.
func (d *Dir[V]) read(path string) (text string, v V, found bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", v, false, nil
	}
	if err != nil {
		return "", v, false, err // names the file
	}
	text, c, value, err := d.parseEntry(data)
	if err != nil {
		return "", v, false, &CorruptError{Path: path, Offset: -1, Err: err}
	}
	if err = codec.Decode(c, value, &v); err != nil {
		return text, v, false, fmt.Errorf("decode the value in %s: %w", path, err)
	}
	return text, v, true, nil
}

// parseEntry checks an entry file's contents and returns the key text, the
// codec and the decompressed value.
func (d *Dir[V]) parseEntry(data []byte) (text string, c codec.Codec, value []byte, err error) {
	if len(data) < entryHeadLen+4 || string(data[:len(entryMagic)]) != entryMagic {
		return "", 0, nil, errors.New("not an entry file")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return "", 0, nil, errChecksum
	}
	c, z := codec.Codec(data[8]), data[9]
	k := int64(binary.LittleEndian.Uint32(data[10:]))
	if k > int64(len(body)-entryHeadLen) {
		return "", 0, nil, fmt.Errorf("key length %d overruns the file", k)
	}
	text, value = string(body[entryHeadLen:entryHeadLen+k]), body[entryHeadLen+k:]
	switch z {
	case compressNone:
	case compressGzip:
		if value, err = d.gunzip(value); err != nil {
			return "", 0, nil, fmt.Errorf("decompress: %w", err)
		}
	default:
		return "", 0, nil, fmt.Errorf("unknown compression %d", z)
	}
	return text, c, value, nil
}

// encode returns the contents of the entry file for key and value.
func (d *Dir[V]) encode(key keymap.Key, value V) ([]byte, error) {
	if len(key.Text) > math.MaxUint32 {
		return nil, fmt.Errorf("key of %d bytes is too long", len(key.Text))
	}
	buf := make([]byte, 0, entryHeadLen+len(key.Text)+64)
	buf = append(buf, entryMagic...)
	buf = append(buf, byte(d.codec), compressNone)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(key.Text)))
	buf = append(buf, key.Text...)
	start := len(buf)
	buf, err := codec.Append(buf, d.codec, value)
	if err != nil {
		return nil, fmt.Errorf("encode the value: %w", err)
	}
	if d.level > 0 {
		buf[9] = compressGzip
		z := d.gzip(buf[start:])
		buf = append(buf[:start], z...)
	}
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli)), nil
}

// gzip compresses p at the Dir's level.
func (d *Dir[V]) gzip(p []byte) []byte {
	var out bytes.Buffer
	zw, _ := d.zw.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&out, d.level) // level checked by OpenDir
	} else {
		zw.Reset(&out)
	}
	zw.Write(p) // writes to a bytes.Buffer do not fail
	zw.Close()
	d.zw.Put(zw)
	return out.Bytes()
}

// gunzip decompresses p.
func (d *Dir[V]) gunzip(p []byte) ([]byte, error) {
	zr, _ := d.zr.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(p))
	} else {
		err = zr.Reset(bytes.NewReader(p))
	}
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(zr)
	d.zr.Put(zr)
	return out, err
}

// Put stores value under key, replacing any value there, and returns once
// the entry is on disk.
func (d *Dir[V]) Put(ctx context.Context, key keymap.Key, value V) error {
	if err := d.put(ctx, key, value); err != nil {
		return keyError("put", key, err)
	}
	return nil
}

func (d *Dir[V]) put(ctx context.Context, key keymap.Key, value V) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := d.encode(key, value)
	if err != nil {
		return err
	}
	sub, name := d.paths(key.Hash)
	tmp, err := d.writeTemp(sub, name, data)
	if err != nil {
		return err
	}
	err = replaceable(filepath.Join(sub, name))
	if err == nil {
		err = os.Rename(tmp, filepath.Join(sub, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(sub)
}

// PutMany stores every entry; a later entry wins over an earlier one with
// the same key. It writes and fsyncs each entry file and renames it into
// place, then fsyncs each subdirectory once; the fsyncs of a batch run
// concurrently, so that the file system can commit them together. If
// PutMany fails or ctx is canceled part way, some of the entries may be
// stored.
func (d *Dir[V]) PutMany(ctx context.Context, entries []cache.Entry[V]) error {
	if err := d.putMany(ctx, entries); err != nil {
		return opError(fmt.Sprintf("put %d entries", len(entries)), err)
	}
	return nil
}

// putMany is PutMany; an error about one entry names its key.
func (d *Dir[V]) putMany(ctx context.Context, entries []cache.Entry[V]) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	last := make(map[[32]byte]int, len(entries))
	for i, e := range entries {
		last[e.Key.Hash] = i
	}
	type pending struct {
		sub, name string
		data      []byte
		tmp       string // once written
	}
	todo := make([]pending, 0, len(last))
	for i, e := range entries {
		if last[e.Key.Hash] != i {
			continue
		}
		data, err := d.encode(e.Key, e.Value)
		if err != nil {
			return fmt.Errorf("key %s: %w", keyfmt.Key(e.Key), err)
		}
		sub, name := d.paths(e.Key.Hash)
		todo = append(todo, pending{sub: sub, name: name, data: data})
	}
	defer func() {
		for _, p := range todo {
			if p.tmp != "" {
				os.Remove(p.tmp) // not renamed, after a failure
			}
		}
	}()
	// Each file is renamed into place as soon as it is written, so that no
	// temporary file of a live writer grows as old as StaleTempAge, however
	// long the batch.
	err := parallel(ctx, len(todo), func(i int) error {
		p := &todo[i]
		tmp, err := d.writeTemp(p.sub, p.name, p.data)
		p.tmp = tmp
		if err != nil {
			return err
		}
		if err := replaceable(filepath.Join(p.sub, p.name)); err != nil {
			return err
		}
		if err := os.Rename(p.tmp, filepath.Join(p.sub, p.name)); err != nil {
			return err
		}
		p.tmp = ""
		return nil
	})
	if err != nil {
		return err
	}
	subs := make(map[string]bool)
	for i := range todo {
		subs[todo[i].sub] = true
	}
	dirs := slices.Sorted(maps.Keys(subs))
	return parallel(context.WithoutCancel(ctx), len(dirs), func(i int) error { return syncDir(dirs[i]) })
}

// parallel calls fn(0) … fn(n-1) on up to 16 goroutines, and returns the
// first error, or ctx's error if ctx is done before every call started.
// It returns when every call it started has returned.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		errMu sync.Mutex
		first error
	)
	for range min(n, 16) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = fn(i)
				}
				if err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					next.Store(int64(n)) // start no more calls
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// writeTemp writes data to a new temporary file for the entry name in sub,
// creating sub if needed, fsyncs it and returns its path.
func (d *Dir[V]) writeTemp(sub, name string, data []byte) (string, error) {
	f, err := createTemp(sub, "."+name[:len(name)-len(entrySuffix)], ".tmp", d.perm)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.Mkdir(sub, d.dirPerm); err == nil || errors.Is(err, fs.ErrExist) {
			f, err = createTemp(sub, "."+name[:len(name)-len(entrySuffix)], ".tmp", d.perm)
		}
	}
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// Delete removes key. Deleting a missing key is not an error.
func (d *Dir[V]) Delete(ctx context.Context, key keymap.Key) error {
	err := ctx.Err()
	if err == nil {
		sub, name := d.paths(key.Hash)
		err = replaceable(filepath.Join(sub, name))
		if err == nil {
			err = os.Remove(filepath.Join(sub, name))
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err == nil {
			err = syncDir(sub)
		}
	}
	if err != nil {
		return keyError("delete", key, err)
	}
	return nil
}

// Len returns the number of entries. It lists the directory; it reads no
// entry file.
func (d *Dir[V]) Len(ctx context.Context) (int, error) {
	n := 0
	for _, err := range d.files(ctx) {
		if err != nil {
			return 0, opError("len", err)
		}
		n++
	}
	return n, nil
}

// Clear removes every entry, and the stale temporary files of writers
// that died (see "Concurrency and crashes" in [Dir]). Other temporary
// files and files that are not entries stay, and so do the
// subdirectories. If ctx is canceled part way, some entries stay too.
func (d *Dir[V]) Clear(ctx context.Context) error {
	if err := d.clear(ctx); err != nil {
		return opError("clear", err)
	}
	return nil
}

func (d *Dir[V]) clear(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dirty := make(map[string]bool)
	for path, err := range d.files(ctx) {
		if err != nil {
			return err
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		dirty[filepath.Dir(path)] = true
	}
	for _, sub := range slices.Sorted(maps.Keys(dirty)) {
		if err := syncDir(sub); err != nil {
			return err
		}
	}
	d.removeStaleTemps(ctx, time.Now())
	return nil
}

// StaleTempAge is how long after its last change a temporary file of a
// [Dir] counts as abandoned by a writer that died: [OpenDir] and
// [Dir.Clear] remove it then. A live writer renames its temporary file
// into place as soon as it has written and fsynced it, so a temporary file
// that old belongs to no writer, unless one stalled for that long between
// its write and its rename.
const StaleTempAge = 10 * time.Minute

// removeStaleTemps removes the temporary files, in the subdirectories of
// the Dir, last modified at least StaleTempAge before now. It does its
// best: a file it cannot list or remove stays, for a later sweep, and a
// file another process removes meanwhile is none of its business.
func (d *Dir[V]) removeStaleTemps(ctx context.Context, now time.Time) {
	subs, err := os.ReadDir(d.dir)
	if err != nil {
		return
	}
	for _, s := range subs {
		if !s.IsDir() || !isHex(s.Name(), 2) || ctx.Err() != nil {
			continue
		}
		sub := filepath.Join(d.dir, s.Name())
		names, _ := readDirNames(sub)
		for _, name := range names {
			if !isTempName(name, s.Name()) {
				continue
			}
			path := filepath.Join(sub, name)
			if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) >= StaleTempAge {
				os.Remove(path)
			}
		}
	}
}

// isTempName reports whether name, in the subdirectory named prefix, is
// the name of a temporary entry file: "." + 64 hexadecimal digits that
// start with prefix + "." + a random part + ".tmp".
func isTempName(name, prefix string) bool {
	rest, ok := strings.CutPrefix(name, ".")
	if !ok || len(rest) < 64+1+len(".tmp") || rest[:2] != prefix || !isHex(rest[:64], 64) || rest[64] != '.' {
		return false
	}
	return strings.HasSuffix(rest[65:], ".tmp") && len(rest[65:]) > len(".tmp")
}

// All yields the entries in the order of their hashes. Entries written or
// deleted during iteration may or may not be seen. It stops at the first
// error: a [*CorruptError] for a damaged entry file. The loop body may use
// the Dir.
func (d *Dir[V]) All(ctx context.Context) iter.Seq2[cache.Entry[V], error] {
	return func(yield func(cache.Entry[V], error) bool) {
		for path, err := range d.files(ctx) {
			if err != nil {
				yield(cache.Entry[V]{}, opError("all", err))
				return
			}
			text, v, found, err := d.read(path)
			if err != nil {
				yield(cache.Entry[V]{}, entryError(keymap.Key{Text: text}, err))
				return
			}
			if found && !yield(cache.Entry[V]{Key: keymap.NewKey(text), Value: v}, nil) {
				return
			}
		}
	}
}

// files yields the paths of the entry files in name order, checking ctx
// before each. It stops at the first error.
func (d *Dir[V]) files(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if err := ctx.Err(); err != nil {
			yield("", err)
			return
		}
		subs, err := os.ReadDir(d.dir)
		if err != nil {
			yield("", err)
			return
		}
		for _, s := range subs {
			if !s.IsDir() || !isHex(s.Name(), 2) {
				continue
			}
			sub := filepath.Join(d.dir, s.Name())
			names, err := readDirNames(sub)
			if err != nil {
				yield("", err)
				return
			}
			for _, name := range names {
				if len(name) != 64+len(entrySuffix) || name[:2] != s.Name() ||
					!isHex(name[:64], 64) || name[64:] != entrySuffix {
					continue
				}
				if err := ctx.Err(); err != nil {
					yield("", err)
					return
				}
				if !yield(filepath.Join(sub, name), nil) {
					return
				}
			}
		}
	}
}

// readDirNames returns the sorted names in dir; a directory removed by
// another process holds no names.
func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// isHex reports whether s is n lowercase hexadecimal digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

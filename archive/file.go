package archive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/internal/keyfmt"
	"github.com/klepto-sql/klepto/keymap"
)

// File is an archive in one file: klepto's file_archive, without its flaws.
// klepto reads the whole file on every operation and rewrites it on every
// write; File appends one record per write, keeps an index in memory, and
// reads only what other processes appended since it last looked.
//
// # Concurrency and crashes
//
// A File is safe for concurrent use, and any number of processes may open
// the same file: each write holds an exclusive lock on a lock file beside
// it (path + ".lock", created by [OpenFile] and never removed), appends
// its records and fsyncs them before it returns, so a write that returned
// survives a crash of the process or of the machine. Before every read, a
// File compares the size and identity of the file with what it last saw,
// and reads what other processes appended (or reloads the file after
// another process compacted it); when nothing changed it reads nothing but
// the record asked for. A crash in the middle of a write leaves at most a
// torn record at the end of the file, which fails its checksum: readers
// ignore it and the next write compacts it away.
//
// Every method returns ctx.Err() and changes nothing if ctx is done when it
// starts, or while it waits for another process's lock.
//
// # Compaction
//
// Overwritten and deleted entries leave dead records behind. A write
// compacts the file first when dead records fill at least 1 MiB and at least
// as much as live ones, or when the file ends in a torn record; Close
// compacts when dead records fill an eighth of the live ones or more;
// [File.Clear] always does. Compaction writes the live records to a
// temporary file beside the log (path + ".compact" and a random suffix),
// fsyncs it, renames it over the log and fsyncs the directory, so a crash
// leaves either the old file or the new one.
//
// WARNING: Windows refuses to rename over a file that is open, and
// os.OpenFile opens files without FILE_SHARE_DELETE, so on Windows
// compaction, and with it Clear and the first write after a crash, fail
// while the file is open, in this process or another.
//
// # Format
//
// The file is an 8-byte header followed by records. All integers are
// little-endian, and every checksum is a CRC-32C (Castagnoli).
//
//	header:
//	  0   8  magic "KLEPTOL" and format version 0x01
//	record:
//	  0   4  n, the length of the body
//	  4   4  CRC-32C of the body
//	  8   4  CRC-32C of bytes 0-7 of the record
//	 12   n  body
//	body of a put:
//	  0   1  kind 0x01
//	  1  32  key hash (keymap.Key.Hash, the SHA-256 of the key text)
//	 33   1  codec of the value (0 JSON, 1 gob, 2 raw; see [codec.Codec])
//	 34   4  k, the length of the key text
//	 38   k  key text
//	 38+k    the value, encoded by the codec, up to the end of the body
//	body of a delete:
//	  0   1  kind 0x02
//	  1  32  key hash
//
// A later record for a key replaces an earlier one. A [File.PutMany]
// batch is written with one write and one fsync; a crash during it may keep
// a prefix of the batch. Each record names its codec, so a File reads
// records written with any codec, whatever [FileOptions.Codec] says.
//
// # Damage
//
// A record that fails its checksum in the middle of the file (damage that
// no crash of a writer causes) is skipped, the records after it stay
// readable, and [File.Corruption] reports it as a [*CorruptError] naming
// the file and the offset of the record. A record that is damaged after it
// was read makes [File.Get] return a [*CorruptError]. The next compaction
// drops damaged records for good.
type File[V any] struct {
	path  string
	codec codec.Codec
	lock  *flock.Flock // on path + ".lock"; orders writers across processes

	// wmu orders, within the process, everything that changes the file or
	// the fields below: writes, catching up with other processes,
	// compaction and Close. It is held across the file I/O it orders.
	wmu sync.Mutex

	// mu guards the fields below. Writers change them only while holding
	// wmu too, so a holder of wmu may read them without mu. Readers hold
	// mu.RLock across ReadAt of f, so that f is not closed under them.
	mu     sync.RWMutex
	f      *os.File
	info   os.FileInfo       // f's identity, for os.SameFile
	size   int64             // size of f when last read; -1 forces a read
	end    int64             // end of the last good record: writes go here
	live   int64             // bytes of the records in index
	index  map[[32]byte]span // key hash -> its live put record
	damage []error           // *CorruptError values, for Corruption
	closed bool
}

// FileOptions configure a File. A nil *FileOptions and the zero value both
// mean: JSON values, and files created with mode 0o644.
type FileOptions struct {
	// Codec encodes the values the File writes. Default codec.JSON.
	// codec.Raw needs V to be []byte.
	Codec codec.Codec

	// Perm is the mode, before the umask, of the file and its lock file
	// when OpenFile creates them. Default 0o644. Compaction keeps the mode
	// the file has.
	Perm fs.FileMode
}

// ErrClosed is wrapped by the errors of the methods of a File after Close.
var ErrClosed = errors.New("archive: file is closed")

// OpenFile opens the file archive at path, creating it (but not its
// directory) if it does not exist, and reads its index into memory. opts
// may be nil.
//
// Damaged records do not make OpenFile fail: they are skipped, and
// [File.Corruption] reports them. OpenFile fails if path exists and is not
// a file archive. The caller must Close the File.
//
// If path is a symbolic link, the File is the file it points to: its lock
// file is beside that file, and compaction replaces that file, not the
// link. OpenFile returns an error matching [ErrInvalidPath], and
// creates nothing, if that file or its lock file exists and is not a
// regular file (a device, a named pipe, a directory, or a lock file that
// is a symbolic link).
func OpenFile[V any](path string, opts *FileOptions) (*File[V], error) {
	var o FileOptions
	if opts != nil {
		o = *opts
	}
	if err := codec.Check[V](o.Codec); err != nil {
		return nil, invalidOptions(err)
	}
	if o.Perm == 0 {
		o.Perm = 0o644
	}
	if o.Perm&^fs.ModePerm != 0 {
		return nil, errmark.Errorf(ErrInvalidOptions, "archive: file mode %v has bits other than permissions", o.Perm)
	}
	path, err := resolveFile(path)
	if err != nil {
		return nil, err
	}
	a := &File[V]{
		path:  path,
		codec: o.Codec,
		lock:  flock.New(path+".lock", flock.SetPermissions(o.Perm)),
	}
	if err := a.lock.Lock(); err != nil {
		return nil, fmt.Errorf("archive: lock %s: %w", path, err)
	}
	err = a.open(o.Perm)
	if uerr := a.lock.Unlock(); uerr != nil && err == nil {
		err = fmt.Errorf("unlock %s: %w", path, uerr)
	}
	if err != nil {
		if a.f != nil {
			a.f.Close()
		}
		return nil, fmt.Errorf("archive: %w", err)
	}
	return a, nil
}

// open creates or loads the log. It runs under the exclusive lock, so no
// compaction is under way, and temporary files left by one are stale.
func (a *File[V]) open(perm fs.FileMode) error {
	removeStaleTemps(a.path)
	f, err := os.OpenFile(a.path, os.O_RDWR|os.O_CREATE, perm)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if fi.Size() < fileHeadLen {
		// New, or created by a writer that crashed before the header was
		// durable. Anything else is not ours to overwrite.
		head := make([]byte, fi.Size())
		if _, err := f.ReadAt(head, 0); err != nil || string(head) != fileMagic[:len(head)] {
			f.Close()
			return fmt.Errorf("%s is not a file archive", a.path)
		}
		if err := writeHeader(f, a.path); err != nil {
			f.Close()
			return err
		}
	}
	return a.load(f)
}

// writeHeader writes the file header to the empty or partial file f and
// makes it durable, along with the file's directory entry.
func writeHeader(f *os.File, path string) error {
	if _, err := f.WriteAt([]byte(fileMagic), 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// load reads the whole of f, which is open on a.path, and makes it the
// File's log, closing the log it replaces. The caller holds the file lock
// and, except in OpenFile, wmu.
func (a *File[V]) load(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return notKind(a.path, fi.Mode(), "a regular file")
	}
	head := make([]byte, fileHeadLen)
	if _, err := f.ReadAt(head, 0); err != nil || string(head) != fileMagic {
		f.Close()
		if err == nil && string(head[:len(head)-1]) == fileMagic[:len(fileMagic)-1] {
			return fmt.Errorf("%s has format version %d, want %d", a.path, head[len(head)-1], fileMagic[len(fileMagic)-1])
		}
		return fmt.Errorf("%s is not a file archive", a.path)
	}
	index := make(map[[32]byte]span)
	var live int64
	end, damage, err := scan(f, a.path, fileHeadLen, fi.Size(), func(r scanned) {
		live += applyRecord(index, r)
	})
	if err != nil {
		f.Close()
		return err
	}
	a.mu.Lock()
	old := a.f
	a.f, a.info, a.size, a.end, a.live, a.index = f, fi, fi.Size(), end, live, index
	a.damage = append(a.damage, damage...)
	a.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// applyRecord applies r to index and returns the change in live bytes.
func applyRecord(index map[[32]byte]span, r scanned) int64 {
	var d int64
	if old, ok := index[r.hash]; ok {
		d -= old.n
		delete(index, r.hash)
	}
	if r.kind == kindPut {
		index[r.hash] = r.span
		d += r.span.n
	}
	return d
}

// Get returns the value stored under key. It returns a [*CorruptError] if
// the key's record fails its checksum.
func (a *File[V]) Get(ctx context.Context, key keymap.Key) (V, bool, error) {
	var zero V
	err := ctx.Err()
	if err == nil {
		err = a.refresh(ctx)
	}
	if err != nil {
		return zero, false, keyError("get", key, err)
	}
	e, found, err := a.read(key.Hash)
	if err != nil {
		return zero, false, keyError("get", key, err)
	}
	return e.Value, found, nil
}

// read returns the live entry stored under hash. When its value does not
// decode, the entry it returns with the error has the key.
func (a *File[V]) read(hash [32]byte) (cache.Entry[V], bool, error) {
	a.mu.RLock()
	if a.closed {
		a.mu.RUnlock()
		return cache.Entry[V]{}, false, errFileClosed
	}
	s, ok := a.index[hash]
	if !ok {
		a.mu.RUnlock()
		return cache.Entry[V]{}, false, nil
	}
	rec := make([]byte, s.n)
	_, err := a.f.ReadAt(rec, s.off)
	a.mu.RUnlock()
	if err != nil {
		return cache.Entry[V]{}, false, fmt.Errorf("read %s: %w", a.path, err)
	}
	text, c, value, err := parsePut(rec)
	if err != nil {
		return cache.Entry[V]{}, false, &CorruptError{Path: a.path, Offset: s.off, Err: err}
	}
	var v V
	if err := codec.Decode(c, value, &v); err != nil {
		return cache.Entry[V]{Key: keymap.Key{Text: text, Hash: hash}}, false, fmt.Errorf("decode the value in %s: %w", a.path, err)
	}
	return cache.Entry[V]{Key: keymap.Key{Text: text, Hash: hash}, Value: v}, true, nil
}

// refresh reads what other processes wrote since the File last looked.
// When the file is unchanged it costs one stat.
func (a *File[V]) refresh(ctx context.Context) error {
	fi, err := os.Stat(a.path)
	if err != nil {
		return err
	}
	a.mu.RLock()
	closed := a.closed
	fresh := fi.Size() == a.size && os.SameFile(fi, a.info)
	a.mu.RUnlock()
	if closed {
		return errFileClosed
	}
	if fresh {
		return nil
	}
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if a.closed {
		return errFileClosed
	}
	// The shared lock keeps writers out, so that a record being written is
	// not mistaken for a torn one.
	if err := a.lockFile(ctx, true); err != nil {
		return err
	}
	return errors.Join(a.catchUp(), a.unlock())
}

// lockFile takes the file lock beside the log, shared or exclusive. It
// gives up with ctx's error when ctx is done first, polling every
// millisecond; a context that can never be done waits in the kernel.
func (a *File[V]) lockFile(ctx context.Context, shared bool) error {
	var err error
	switch {
	case ctx.Done() == nil && shared:
		err = a.lock.RLock()
	case ctx.Done() == nil:
		err = a.lock.Lock()
	default:
		try := a.lock.TryLockContext
		if shared {
			try = a.lock.TryRLockContext
		}
		var ok bool
		if ok, err = try(ctx, time.Millisecond); err == nil && !ok {
			err = ctx.Err()
		}
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", a.path, err)
	}
	return nil
}

func (a *File[V]) unlock() error {
	if err := a.lock.Unlock(); err != nil {
		return fmt.Errorf("unlock %s: %w", a.path, err)
	}
	return nil
}

// catchUp brings the index up to date with the file: it reads the records
// appended since the last look, or reloads the file if another process
// replaced it. The caller holds wmu and the file lock.
func (a *File[V]) catchUp() error {
	fi, err := os.Stat(a.path)
	if err != nil {
		return err
	}
	if fi.Size() == a.size && os.SameFile(fi, a.info) {
		return nil
	}
	if !fi.Mode().IsRegular() {
		return notKind(a.path, fi.Mode(), "a regular file")
	}
	if !os.SameFile(fi, a.info) || fi.Size() < a.end {
		f, err := os.OpenFile(a.path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		return a.load(f)
	}
	var recs []scanned
	end, damage, err := scan(a.f, a.path, a.end, fi.Size(), func(r scanned) { recs = append(recs, r) })
	if err != nil {
		return err
	}
	a.mu.Lock()
	for _, r := range recs {
		a.live += applyRecord(a.index, r)
	}
	a.size, a.end = fi.Size(), end
	a.damage = append(a.damage, damage...)
	a.mu.Unlock()
	return nil
}

// Put stores value under key, replacing any value there, and returns once
// the record is on disk.
func (a *File[V]) Put(ctx context.Context, key keymap.Key, value V) error {
	var b batch
	err := ctx.Err()
	if err == nil {
		err = appendPut(&b, key, a.codec, value)
	}
	if err == nil {
		err = a.update(ctx, &b, nil)
	}
	if err != nil {
		return keyError("put", key, err)
	}
	return nil
}

// PutMany stores every entry with one write and one fsync; a later entry
// wins over an earlier one with the same key. A crash during PutMany may
// keep a prefix of the entries.
func (a *File[V]) PutMany(ctx context.Context, entries []cache.Entry[V]) error {
	op := fmt.Sprintf("put %d entries", len(entries))
	if err := ctx.Err(); err != nil {
		return opError(op, err)
	}
	if len(entries) == 0 {
		return nil
	}
	var b batch
	for _, e := range entries {
		if err := appendPut(&b, e.Key, a.codec, e.Value); err != nil {
			return opError(op, fmt.Errorf("key %s: %w", keyfmt.Key(e.Key), err))
		}
	}
	if err := a.update(ctx, &b, nil); err != nil {
		return opError(op, err)
	}
	return nil
}

// Delete removes key. Deleting a missing key is not an error, and writes
// nothing.
func (a *File[V]) Delete(ctx context.Context, key keymap.Key) error {
	err := ctx.Err()
	if err == nil {
		err = a.update(ctx, &batch{}, func(b *batch) {
			if _, ok := a.index[key.Hash]; ok {
				appendDelete(b, key.Hash)
			}
		})
	}
	if err != nil {
		return keyError("delete", key, err)
	}
	return nil
}

// update makes one write: under both locks, it catches up with other
// processes, lets build, if not nil, add records to b (build sees the
// current index), and appends b to the log, or compacts the log with b
// applied.
func (a *File[V]) update(ctx context.Context, b *batch, build func(*batch)) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if a.closed {
		return errFileClosed
	}
	if err := a.lockFile(ctx, false); err != nil {
		return err
	}
	err := a.catchUp()
	if err == nil {
		if build != nil {
			build(b)
		}
		switch dead := a.end - fileHeadLen - a.live; {
		case len(b.recs) == 0:
		case a.size > a.end, dead >= compactFloor && dead >= a.live:
			err = a.compact(b, true)
		default:
			err = a.append(b)
		}
	}
	return errors.Join(err, a.unlock())
}

// append writes b at the end of the log and fsyncs it.
func (a *File[V]) append(b *batch) error {
	if _, err := a.f.WriteAt(b.buf, a.end); err != nil {
		a.forceCatchUp()
		return err // names the file
	}
	if err := a.f.Sync(); err != nil {
		a.forceCatchUp()
		return err
	}
	a.mu.Lock()
	for _, r := range b.recs {
		r.span.off += a.end
		a.live += applyRecord(a.index, r)
	}
	a.end += int64(len(b.buf))
	a.size = a.end
	a.mu.Unlock()
	return nil
}

// forceCatchUp makes the next operation read the end of the log again,
// after a failed write that may have left part of its records there.
func (a *File[V]) forceCatchUp() {
	a.mu.Lock()
	a.size = -1
	a.mu.Unlock()
}

// Len returns the number of entries.
func (a *File[V]) Len(ctx context.Context) (int, error) {
	err := ctx.Err()
	if err == nil {
		err = a.refresh(ctx)
	}
	if err != nil {
		return 0, opError("len", err)
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.index), nil
}

// Clear removes every entry, replacing the file with an empty one.
func (a *File[V]) Clear(ctx context.Context) error {
	if err := a.clear(ctx); err != nil {
		return opError("clear", err)
	}
	return nil
}

func (a *File[V]) clear(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if a.closed {
		return errFileClosed
	}
	if err := a.lockFile(ctx, false); err != nil {
		return err
	}
	err := a.catchUp()
	if err == nil && a.size > fileHeadLen {
		err = a.compact(nil, false)
	}
	return errors.Join(err, a.unlock())
}

// All yields the entries present when iteration starts that are still
// present when it reaches them, in the order of the file, with their values
// at that time. It stops at the first error. The loop body may use the
// File.
func (a *File[V]) All(ctx context.Context) iter.Seq2[cache.Entry[V], error] {
	return func(yield func(cache.Entry[V], error) bool) {
		err := ctx.Err()
		if err == nil {
			err = a.refresh(ctx)
		}
		if err != nil {
			yield(cache.Entry[V]{}, opError("all", err))
			return
		}
		a.mu.RLock()
		type at struct {
			hash [32]byte
			off  int64
		}
		keys := make([]at, 0, len(a.index))
		for h, s := range a.index {
			keys = append(keys, at{h, s.off})
		}
		a.mu.RUnlock()
		slices.SortFunc(keys, func(x, y at) int { return cmp.Compare(x.off, y.off) })
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				yield(cache.Entry[V]{}, opError("all", err))
				return
			}
			e, found, err := a.read(k.hash)
			if err != nil {
				yield(cache.Entry[V]{}, entryError(e.Key, err))
				return
			}
			if found && !yield(e, nil) {
				return
			}
		}
	}
}

// Corruption returns nil, or an error joining one [*CorruptError] for each
// damaged record the File has skipped since it was opened. Find them with
// errors.As, or with the Unwrap() []error method of the joined error.
func (a *File[V]) Corruption() error {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return errors.Join(a.damage...)
}

// Close compacts the file if dead records fill an eighth of the live ones
// or more, and releases it. Close does not delete the file or its lock file.
// A second Close does nothing and returns nil.
func (a *File[V]) Close() error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if a.closed {
		return nil
	}
	var err error
	if err = a.lock.Lock(); err == nil {
		err = a.catchUp()
		if dead := a.end - fileHeadLen - a.live; err == nil && (a.size > a.end || dead > 0 && dead >= a.live/8) {
			err = a.compact(nil, true)
		}
		err = errors.Join(err, a.unlock())
	} else {
		err = fmt.Errorf("lock %s: %w", a.path, err)
	}
	a.mu.Lock()
	a.closed = true
	f := a.f
	a.f, a.index = nil, nil
	a.mu.Unlock()
	if err = errors.Join(err, f.Close()); err != nil {
		return opError("close", err)
	}
	return nil
}

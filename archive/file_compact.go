package archive

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// compactFloor is the size, in bytes, of the dead records below which
// writes never compact (see "Compaction" in the doc of [File]).
const compactFloor = 1 << 20

// compact replaces the log with a new file holding, if keep, its live
// records, and the records of b (which may be nil) applied on top. The
// rename is the commit point: an error before it changes nothing.
func (a *File[V]) compact(b *batch, keep bool) error {
	// The final state of each key b touches, by record index: puts after
	// it in b win, and its old record is not copied.
	var touched map[[32]byte]int
	if b != nil {
		touched = make(map[[32]byte]int, len(b.recs))
		for i, r := range b.recs {
			touched[r.hash] = i
		}
	}
	var spans []span
	hashOf := make(map[int64][32]byte)
	for h, s := range a.index {
		if _, ok := touched[h]; keep && !ok {
			spans = append(spans, s)
			hashOf[s.off] = h
		}
	}
	slices.SortFunc(spans, func(x, y span) int { return cmp.Compare(x.off, y.off) })

	tmp, err := createTemp(filepath.Dir(a.path), filepath.Base(a.path)+".compact", ".tmp", a.info.Mode().Perm())
	if err != nil {
		return fmt.Errorf("compact %s: %w", a.path, err)
	}
	index, live, damage, err := a.writeCompacted(tmp, spans, hashOf, b, touched)
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = replaceable(a.path)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), a.path)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("compact %s: %w", a.path, err)
	}
	info, statErr := tmp.Stat()
	a.mu.Lock()
	old := a.f
	a.f, a.info, a.index, a.live = tmp, info, index, live
	a.end = fileHeadLen + live
	a.size = a.end
	if statErr != nil {
		a.size = -1
	}
	a.damage = append(a.damage, damage...)
	a.mu.Unlock()
	old.Close()
	return errors.Join(statErr, syncDir(filepath.Dir(a.path)))
}

// writeCompacted writes the header, the records at spans (copied from the
// log, checksums verified) and the final records of b to tmp.
func (a *File[V]) writeCompacted(tmp *os.File, spans []span, hashOf map[int64][32]byte, b *batch, touched map[[32]byte]int) (map[[32]byte]span, int64, []error, error) {
	index := make(map[[32]byte]span, len(spans)+len(touched))
	var damage []error
	w := bufio.NewWriterSize(tmp, 256<<10)
	w.WriteString(fileMagic)
	off := fileHeadLen
	r := bufio.NewReaderSize(io.NewSectionReader(a.f, 0, a.end), 256<<10)
	pos := int64(0)
	var rec []byte
	for _, s := range spans {
		if _, err := r.Discard(int(s.off - pos)); err != nil {
			return nil, 0, nil, err
		}
		rec = slices.Grow(rec[:0], int(s.n))[:s.n]
		if _, err := io.ReadFull(r, rec); err != nil {
			return nil, 0, nil, err
		}
		pos = s.off + s.n
		if _, _, _, err := parsePut(rec); err != nil {
			damage = append(damage, &CorruptError{Path: a.path, Offset: s.off, Err: err})
			continue
		}
		w.Write(rec)
		index[hashOf[s.off]] = span{off, s.n}
		off += s.n
	}
	if b != nil {
		for i, rc := range b.recs {
			if rc.kind != kindPut || touched[rc.hash] != i {
				continue
			}
			w.Write(b.buf[rc.span.off : rc.span.off+rc.span.n])
			index[rc.hash] = span{off, rc.span.n}
			off += rc.span.n
		}
	}
	if err := w.Flush(); err != nil {
		return nil, 0, nil, err
	}
	return index, off - fileHeadLen, damage, nil
}

// removeStaleTemps removes the temporary files that compactions of the log
// at path left behind when their process died. The caller holds the
// exclusive lock, so no compaction is under way.
func removeStaleTemps(path string) {
	dir, base := filepath.Split(path)
	entries, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(name, base+".compact.") && strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(dir, name))
		}
	}
}

package archive

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/keymap"
)

// span locates one record in the log, header included.
type span struct {
	off int64
	n   int64
}

// The layout of the log, described under "Format" in the doc of [File].
const (
	fileMagic   = "KLEPTOL\x01"
	fileHeadLen = int64(len(fileMagic))
	recHeadLen  = 12
	putHeadLen  = 38 // kind, hash, codec, key length
	delBodyLen  = 33 // kind, hash
	kindPut     = 0x01
	kindDelete  = 0x02
)

// batch holds encoded records waiting to be written, and where each one is
// in buf.
type batch struct {
	buf  []byte
	recs []scanned
}

// appendPut adds a put record for key and value to b.
func appendPut[V any](b *batch, key keymap.Key, c codec.Codec, value V) error {
	if len(key.Text) > math.MaxUint32 {
		return fmt.Errorf("key of %d bytes is too long", len(key.Text))
	}
	start := len(b.buf)
	b.buf = append(b.buf, make([]byte, recHeadLen)...)
	b.buf = append(b.buf, kindPut)
	b.buf = append(b.buf, key.Hash[:]...)
	b.buf = append(b.buf, byte(c))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(key.Text)))
	b.buf = append(b.buf, key.Text...)
	var err error
	if b.buf, err = codec.Append(b.buf, c, value); err != nil {
		b.buf = b.buf[:start]
		return fmt.Errorf("encode the value: %w", err)
	}
	return b.seal(start, kindPut, key.Hash)
}

// appendDelete adds a delete record for hash to b.
func appendDelete(b *batch, hash [32]byte) {
	start := len(b.buf)
	b.buf = append(b.buf, make([]byte, recHeadLen)...)
	b.buf = append(b.buf, kindDelete)
	b.buf = append(b.buf, hash[:]...)
	b.seal(start, kindDelete, hash) // a 33-byte body always fits
}

// seal fills in the header of the record that starts at start.
func (b *batch) seal(start int, kind byte, hash [32]byte) error {
	body := b.buf[start+recHeadLen:]
	if len(body) > math.MaxUint32 {
		b.buf = b.buf[:start]
		return fmt.Errorf("record of %d bytes is too long", len(body))
	}
	h := b.buf[start : start+recHeadLen]
	binary.LittleEndian.PutUint32(h[0:], uint32(len(body)))
	binary.LittleEndian.PutUint32(h[4:], crc32.Checksum(body, castagnoli))
	binary.LittleEndian.PutUint32(h[8:], crc32.Checksum(h[:8], castagnoli))
	b.recs = append(b.recs, scanned{kind: kind, hash: hash, span: span{int64(start), int64(len(b.buf) - start)}})
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// parseHeader decodes a record header and reports whether its own
// checksum holds.
func parseHeader(h []byte) (n int64, sum uint32, ok bool) {
	le := binary.LittleEndian
	return int64(le.Uint32(h[0:])), le.Uint32(h[4:]), crc32.Checksum(h[:8], castagnoli) == le.Uint32(h[8:])
}

var (
	errChecksum = errors.New("checksum mismatch")
	errHeader   = errors.New("bad record header")
)

// parseBody checks the layout of a record body whose checksum holds.
func parseBody(body []byte) (kind byte, hash [32]byte, err error) {
	if len(body) < delBodyLen {
		return 0, hash, fmt.Errorf("record body of %d bytes is too short", len(body))
	}
	kind, hash = body[0], [32]byte(body[1:33])
	switch kind {
	case kindDelete:
		if len(body) != delBodyLen {
			return 0, hash, fmt.Errorf("delete record body of %d bytes, want %d", len(body), delBodyLen)
		}
	case kindPut:
		if len(body) < putHeadLen {
			return 0, hash, fmt.Errorf("put record body of %d bytes is too short", len(body))
		}
		if k := int64(binary.LittleEndian.Uint32(body[34:])); k > int64(len(body)-putHeadLen) {
			return 0, hash, fmt.Errorf("key length %d overruns the record", k)
		}
	default:
		return 0, hash, fmt.Errorf("unknown record kind 0x%02x", kind)
	}
	return kind, hash, nil
}

// parsePut checks the whole put record rec and returns its parts.
func parsePut(rec []byte) (key string, c codec.Codec, value []byte, err error) {
	if len(rec) < recHeadLen {
		return "", 0, nil, errHeader
	}
	n, sum, ok := parseHeader(rec)
	if !ok || n != int64(len(rec)-recHeadLen) {
		return "", 0, nil, errHeader
	}
	body := rec[recHeadLen:]
	if crc32.Checksum(body, castagnoli) != sum {
		return "", 0, nil, errChecksum
	}
	kind, _, err := parseBody(body)
	if err != nil {
		return "", 0, nil, err
	}
	if kind != kindPut {
		return "", 0, nil, fmt.Errorf("record kind 0x%02x where a put was indexed", kind)
	}
	k := binary.LittleEndian.Uint32(body[34:])
	return string(body[putHeadLen : putHeadLen+k]), codec.Codec(body[33]), body[putHeadLen+k:], nil
}

// scanned is one good record: what scan reports and what a batch holds.
type scanned struct {
	kind byte
	hash [32]byte
	span span
}

// scan reads the records of f between offsets from and to, and calls fn
// for each good one in order. It returns the end of the last good record,
// and a *CorruptError for each damaged record it skipped. Damage with no
// good record after it is the torn tail of a crashed write: scan stops
// there without reporting it, and end is where it starts. The caller holds
// the file lock, so no write is under way.
func scan(f io.ReaderAt, path string, from, to int64, fn func(scanned)) (end int64, damage []error, err error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, from, to-from), int(min(to-from, 256<<10)))
	var head [recHeadLen]byte
	var body []byte
	fail := func(err error) (int64, []error, error) {
		return 0, nil, fmt.Errorf("read %s: %w", path, err)
	}
	off := from
	for to-off >= recHeadLen {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return fail(err)
		}
		n, sum, ok := parseHeader(head[:])
		if !ok {
			next, found, err := findRecord(f, off+1, to)
			if err != nil {
				return fail(err)
			}
			if !found {
				break
			}
			damage = append(damage, &CorruptError{Path: path, Offset: off, Err: fmt.Errorf("%w; skipped %d bytes", errHeader, next-off)})
			off = next
			r.Reset(io.NewSectionReader(f, off, to-off))
			continue
		}
		if n > to-off-recHeadLen {
			break // cut short
		}
		body = slices.Grow(body[:0], int(n))[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			return fail(err)
		}
		next := off + recHeadLen + n
		if crc32.Checksum(body, castagnoli) != sum {
			if next == to {
				break // the last record: torn
			}
			damage = append(damage, &CorruptError{Path: path, Offset: off, Err: errChecksum})
			off = next
			continue
		}
		kind, hash, err := parseBody(body)
		if err != nil {
			damage = append(damage, &CorruptError{Path: path, Offset: off, Err: err})
			off = next
			continue
		}
		fn(scanned{kind: kind, hash: hash, span: span{off, recHeadLen + n}})
		off = next
	}
	return off, damage, nil
}

// findRecord returns the offset of the first good record that starts in
// [from, to). It looks for a header whose checksum holds, followed by a
// body whose checksum holds; a false match needs two 32-bit checksums to
// agree by chance.
func findRecord(f io.ReaderAt, from, to int64) (int64, bool, error) {
	const window = 64 << 10
	buf := make([]byte, window+recHeadLen-1)
	for p := from; to-p >= recHeadLen; p += window {
		b := buf[:min(int64(len(buf)), to-p)]
		if _, err := f.ReadAt(b, p); err != nil {
			return 0, false, err
		}
		for i := 0; i < window && i+recHeadLen <= len(b); i++ {
			n, sum, ok := parseHeader(b[i:])
			off := p + int64(i)
			if !ok || n > to-off-recHeadLen {
				continue
			}
			body := make([]byte, n)
			if _, err := f.ReadAt(body, off+recHeadLen); err != nil {
				return 0, false, err
			}
			if crc32.Checksum(body, castagnoli) == sum {
				return off, true, nil
			}
		}
	}
	return 0, false, nil
}

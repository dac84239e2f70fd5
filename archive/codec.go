package archive

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
)

// Codec selects how an archive encodes the values it writes. The zero value
// is JSON. The numbers of the codecs are part of the file formats.
type Codec uint8

// The value codecs.
const (
	// JSON encodes values with encoding/json, so that any tool can read
	// them. It is the default.
	JSON Codec = iota
	// Gob encodes values with encoding/gob, each value on its own with its
	// type description: larger than JSON, but it round-trips what JSON
	// cannot, such as NaN and infinite floats and maps with struct keys.
	Gob
	// Raw stores values as they are. It needs V to be []byte.
	Raw
)

var codecNames = [...]string{JSON: "json", Gob: "gob", Raw: "raw"}

// String returns the codec's name: json, gob or raw.
func (c Codec) String() string {
	if int(c) < len(codecNames) {
		return codecNames[c]
	}
	return "Codec(" + strconv.Itoa(int(c)) + ")"
}

// checkCodec reports whether archives of V can use c.
func checkCodec[V any](c Codec) error {
	if int(c) >= len(codecNames) {
		return fmt.Errorf("archive: unknown codec %v", c)
	}
	if c == Raw && reflect.TypeFor[V]() != reflect.TypeFor[[]byte]() {
		return fmt.Errorf("archive: the raw codec needs values of type []byte, not %v", reflect.TypeFor[V]())
	}
	return nil
}

// appendValue appends v, encoded by c, to dst.
func appendValue[V any](dst []byte, c Codec, v V) ([]byte, error) {
	switch c {
	case JSON:
		b, err := json.Marshal(v)
		return append(dst, b...), err
	case Gob:
		buf := bytes.NewBuffer(dst)
		err := gob.NewEncoder(buf).Encode(v)
		return buf.Bytes(), err
	case Raw:
		if b, ok := any(v).([]byte); ok {
			return append(dst, b...), nil
		}
	}
	return dst, fmt.Errorf("codec %v cannot encode %T", c, v)
}

// decodeValue decodes data, encoded by c.
func decodeValue[V any](c Codec, data []byte) (V, error) {
	var v V
	switch c {
	case JSON:
		return v, json.Unmarshal(data, &v)
	case Gob:
		return v, gob.NewDecoder(bytes.NewReader(data)).Decode(&v)
	case Raw:
		if p, ok := any(&v).(*[]byte); ok {
			*p = bytes.Clone(data)
			return v, nil
		}
	}
	return v, fmt.Errorf("codec %v cannot decode into %T", c, v)
}

// CorruptError reports damaged data in an archive: a record of a [File]
// or an entry file of a [Dir] that fails its checksum or is malformed.
type CorruptError struct {
	Path   string // the damaged file
	Offset int64  // the damaged record's offset in a File; -1 for a Dir entry file
	Err    error  // what is wrong
}

// Error names the file, and for a File the offset, and what is wrong.
func (e *CorruptError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("archive: corrupt entry file %s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("archive: corrupt record at offset %d of %s: %v", e.Offset, e.Path, e.Err)
}

// Unwrap returns e.Err.
func (e *CorruptError) Unwrap() error { return e.Err }

// createTemp creates a new file in dir, named prefix, a dot, a random part
// and suffix, with mode perm before the umask (os.CreateTemp always uses
// 0o600).
func createTemp(dir, prefix, suffix string, perm fs.FileMode) (*os.File, error) {
	for range 100 {
		name := filepath.Join(dir, prefix+"."+strconv.FormatUint(rand.Uint64(), 36)+suffix)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("no free temporary name in %s", dir)
}

// syncDir makes the entries of dir durable, after a create or a rename in
// it. Windows has no way to sync a directory and needs none.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("archive: sync %s: %w", dir, err)
	}
	return nil
}

package codec

import (
	"fmt"
	"strconv"
)

// Codec names how an archive encodes its values. The zero value is [JSON].
// The numbers of the codecs are part of the file formats of archive.File
// and archive.Dir, and never change; their names are stored in the catalog
// of package sqlarchive.
type Codec uint8

// The value codecs.
const (
	// JSON encodes values with encoding/json, without HTML escaping, so that
	// any tool, and the JSON functions of every database, can read them. It
	// is the default.
	JSON Codec = iota
	// Gob encodes values with encoding/gob, each value on its own with its
	// type description: larger than JSON, but it round-trips what JSON
	// cannot, such as NaN and infinite floats and maps with struct keys.
	Gob
	// Raw stores values that already are bytes as they are. Values must
	// be of type []byte.
	Raw
)

var names = [...]string{JSON: "json", Gob: "gob", Raw: "raw"}

// Parse returns the codec called name: "json", "gob" or "raw".
func Parse(name string) (Codec, error) {
	for c, n := range names {
		if n == name {
			return Codec(c), nil
		}
	}
	return 0, fmt.Errorf("codec: unknown codec %q (want json, gob or raw)", name)
}

// String returns the codec's name: json, gob or raw, or Codec(n) for a
// number that names no codec.
func (c Codec) String() string {
	if c.Valid() {
		return names[c]
	}
	return "Codec(" + strconv.Itoa(int(c)) + ")"
}

// Valid reports whether c is one of [JSON], [Gob] and [Raw].
func (c Codec) Valid() bool { return int(c) < len(names) }

// Binary reports whether values of the codec go into a binary column
// (BLOB, BYTEA, LONGBLOB) rather than a JSON one: true for [Gob] and [Raw].
func (c Codec) Binary() bool { return c != JSON }

// MarshalText implements [encoding.TextMarshaler]: the text is the codec's
// name. It fails for a number that names no codec.
func (c Codec) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("codec: invalid codec %d", uint8(c))
	}
	return []byte(names[c]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler], accepting the
// names [Parse] accepts.
func (c *Codec) UnmarshalText(text []byte) error {
	v, err := Parse(string(text))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

package dialect

import "fmt"

// Codec names how an archive encodes its values, which decides the type of
// the value column (see [Dialect.CreateTable]). The codec of each archive is
// recorded in the catalog so that every reader decodes alike. The zero value
// is [JSON].
type Codec uint8

// The value codecs.
const (
	// JSON stores values as JSON in the database's JSON type, so SQL tools can
	// query them. It is the default.
	JSON Codec = iota
	// Gob stores values encoded with encoding/gob in a binary column.
	Gob
	// Raw stores values that already are bytes, unchanged, in a binary column.
	Raw
)

var codecNames = [...]string{JSON: "json", Gob: "gob", Raw: "raw"}

// ParseCodec returns the codec called name: "json", "gob" or "raw".
func ParseCodec(name string) (Codec, error) {
	for c, n := range codecNames {
		if n == name {
			return Codec(c), nil
		}
	}
	return 0, fmt.Errorf("dialect: unknown codec %q (want json, gob or raw)", name)
}

// String returns the codec's name, as stored in the catalog.
func (c Codec) String() string {
	if c.valid() {
		return codecNames[c]
	}
	return fmt.Sprintf("Codec(%d)", uint8(c))
}

// Binary reports whether values of the codec go into a binary column
// (BLOB, BYTEA, LONGBLOB) rather than a JSON one.
func (c Codec) Binary() bool { return c != JSON }

// MarshalText implements [encoding.TextMarshaler].
func (c Codec) MarshalText() ([]byte, error) {
	if !c.valid() {
		return nil, fmt.Errorf("dialect: invalid codec %d", uint8(c))
	}
	return []byte(codecNames[c]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler].
func (c *Codec) UnmarshalText(text []byte) error {
	v, err := ParseCodec(string(text))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

func (c Codec) valid() bool { return int(c) < len(codecNames) }

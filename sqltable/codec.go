package sqltable

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/keyfmt"
)

// EscapePrefix starts the key_text of a key whose text could not be stored
// as it is; the rest is the text in standard base64. See [EncodeKeyText].
const EscapePrefix = "base64:"

// EncodeKeyText returns the key_text column of the key whose text is text.
// It is text itself when text is valid UTF-8, holds no NUL byte (which
// PostgreSQL's TEXT refuses) and does not start with [EscapePrefix];
// otherwise it is EscapePrefix followed by the standard base64 of text. So
// key_text is readable in every SQL client, and [DecodeKeyText] recovers
// the exact bytes.
func EncodeKeyText(text string) string {
	if utf8.ValidString(text) && strings.IndexByte(text, 0) < 0 && !strings.HasPrefix(text, EscapePrefix) {
		return text
	}
	return EscapePrefix + base64.StdEncoding.EncodeToString([]byte(text))
}

// DecodeKeyText returns the key text stored as the key_text column stored,
// undoing [EncodeKeyText]. It fails only for a stored text that starts
// with EscapePrefix and is not followed by valid base64.
func DecodeKeyText(stored string) (string, error) {
	text, err := decodeKeyText(stored)
	if err != nil {
		return "", fmt.Errorf("sqltable: %w", err)
	}
	return text, nil
}

// decodeKeyText is DecodeKeyText, with errors that a Table's own wrap.
func decodeKeyText(stored string) (string, error) {
	b64, escaped := strings.CutPrefix(stored, EscapePrefix)
	if !escaped {
		return stored, nil
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("invalid key text %s: %w", keyfmt.Text(stored), err)
	}
	return string(b), nil
}

// ArgsWrapper is the only member of the JSON object that the args column
// holds in place of arguments whose JSON has the character U+0000, which
// PostgreSQL's JSONB refuses: its value is the arguments' JSON text as a
// JSON string, as in {"klepto:json":"[\"a\\u0000b\"]"}. See the package
// documentation.
const ArgsWrapper = "klepto:json"

// encodeArgs returns the args column of the arguments whose JSON is args:
// args itself, unless it has the character U+0000 or is an object whose
// only member is ArgsWrapper with a string value; then the object
// {"klepto:json": <args as a JSON string>}. So the column is valid JSON
// without U+0000 in every database, and decodeArgs recovers args exactly.
// args must be valid JSON, and valid UTF-8.
func encodeArgs(args string) string {
	if !hasNUL(args) && !isArgsWrapper(args) {
		return args
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]string{ArgsWrapper: args}) // cannot fail for a string
	return strings.TrimSuffix(b.String(), "\n")
}

// decodeArgs returns the JSON of the arguments that the args column
// stored holds, undoing encodeArgs.
func decodeArgs(stored string) string {
	if !isArgsWrapper(stored) {
		return stored
	}
	var w map[string]string
	_ = json.Unmarshal([]byte(stored), &w) // isArgsWrapper checked it
	return w[ArgsWrapper]
}

// hasNUL reports whether the JSON text doc has the escape \u0000, the
// only way valid JSON holds U+0000.
func hasNUL(doc string) bool {
	if !strings.Contains(doc, `\u0000`) {
		return false // most documents: one fast scan
	}
	for {
		i := strings.IndexByte(doc, '\\')
		if i < 0 || i+1 >= len(doc) {
			return false
		}
		if strings.HasPrefix(doc[i+1:], "u0000") {
			return true
		}
		doc = doc[i+2:] // past the escaped character, such as the second \ of \\u0000
	}
}

// isArgsWrapper reports whether the JSON text doc is an object whose only
// member is ArgsWrapper, with a string value.
func isArgsWrapper(doc string) bool {
	if !strings.Contains(doc, `"`+ArgsWrapper+`"`) {
		return false // fast path: the arguments of nearly every call
	}
	var w map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &w); err != nil || len(w) != 1 {
		return false
	}
	v, ok := w[ArgsWrapper]
	return ok && len(v) > 0 && v[0] == '"'
}

// encode returns v encoded with the Table's codec, as a bind argument
// (a string for JSON, which the JSON columns need, and []byte otherwise),
// and its size in bytes. With Options.Stored, v is the value as stored.
func (t *Table[V]) encode(v V) (arg any, size int, err error) {
	if t.stored {
		b, _ := any(v).([]byte) // Open checked that V is []byte
		return t.encodeStored(b)
	}
	if t.codec == codec.JSON {
		s, err := codec.JSONString(v)
		if err == nil && t.d == dialect.Postgres && hasNUL(s) {
			err = errNULValue
		}
		return s, len(s), err
	}
	b, err := codec.Encode(t.codec, v)
	if err != nil {
		return nil, 0, err
	}
	if b == nil {
		b = []byte{} // the column is NOT NULL
	}
	return b, len(b), nil
}

// encodeStored returns the bind argument and size of b, a value as stored
// (Options.Stored): the bytes themselves for a binary column, and for a
// JSON column the JSON text without insignificant space, as a string.
func (t *Table[V]) encodeStored(b []byte) (arg any, size int, err error) {
	if t.codec.Binary() {
		if b == nil {
			b = []byte{} // the column is NOT NULL
		}
		return b, len(b), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, 0, fmt.Errorf("the value is not JSON: %w", err)
	}
	if t.d == dialect.Postgres && hasNUL(buf.String()) {
		return nil, 0, errNULValue
	}
	return buf.String(), buf.Len(), nil
}

// errNULValue is the error of encoding a JSON value that holds U+0000 for
// PostgreSQL, whose JSONB cannot hold it: no archive of codec json there
// can store the value, which matches codec.ErrEncode.
var errNULValue = fmt.Errorf("%w: the value holds the character U+0000, which PostgreSQL's JSONB cannot hold; codecs gob and raw can", codec.ErrEncode)

// decode decodes raw, a value of the Table's codec, into *v. raw may be
// reused once decode returns. With Options.Stored, *v is a copy of raw,
// never nil; for a JSON column, once checked to be JSON.
func (t *Table[V]) decode(raw []byte, v *V) error {
	switch {
	case !t.stored:
		return codec.Decode(t.codec, raw, v)
	case t.codec.Binary():
		return codec.Decode(codec.Raw, raw, v)
	}
	p, _ := any(v).(*[]byte) // Open checked that V is []byte
	return codec.Decode(codec.JSON, raw, (*json.RawMessage)(p))
}

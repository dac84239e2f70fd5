package codec

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
)

// ErrEncode is wrapped by the errors of [Encode], [Append] and
// [JSONString] about the value itself, which the codec cannot encode: with
// [JSON], NaN and infinite floats, channels, functions, complex numbers,
// cyclic values, or a MarshalJSON method that fails; with [Gob], types gob
// refuses. Such a value fails the same way every time, so archives never
// store it (see "Values a codec cannot encode" in the package doc). The
// text of these errors is that of encoding/json or encoding/gob.
var ErrEncode = errors.New("codec: the value cannot be encoded")

// encodeError is an error of encoding a value: it reads as err and matches
// ErrEncode.
type encodeError struct{ err error }

func (e *encodeError) Error() string   { return e.err.Error() }
func (e *encodeError) Unwrap() []error { return []error{e.err, ErrEncode} }

// Check returns an error if c is not a valid codec, or if values of type V
// cannot use it: [Raw] needs V to be []byte. Archives call it when they
// open, so that [Encode] and [Decode] fail only on the values themselves.
func Check[V any](c Codec) error {
	if !c.Valid() {
		return fmt.Errorf("codec: invalid codec %v", c)
	}
	if c == Raw && reflect.TypeFor[V]() != reflect.TypeFor[[]byte]() {
		return fmt.Errorf("codec: raw stores []byte values, not %v; use json or gob", reflect.TypeFor[V]())
	}
	return nil
}

// Encode returns v encoded by c. For [Raw], the result is v itself, not a
// copy.
func Encode[V any](c Codec, v V) ([]byte, error) {
	if c == Raw {
		if b, ok := any(v).([]byte); ok {
			return b, nil
		}
	}
	return Append(nil, c, v)
}

// Append appends v, encoded by c, to dst and returns the extended buffer.
// On error it returns dst unchanged.
func Append[V any](dst []byte, c Codec, v V) ([]byte, error) {
	switch c {
	case JSON:
		e := getEncoder()
		defer e.release()
		if err := e.encode(v); err != nil {
			return dst, &encodeError{err}
		}
		return append(dst, e.json()...), nil
	case Gob:
		// Encode a pointer, so that an interface type V is sent as an
		// interface, which Decode can decode into a *V.
		buf := bytes.NewBuffer(dst)
		if err := gob.NewEncoder(buf).Encode(&v); err != nil {
			return dst, &encodeError{err}
		}
		return buf.Bytes(), nil
	case Raw:
		if b, ok := any(v).([]byte); ok {
			return append(dst, b...), nil
		}
	}
	return dst, Check[V](c)
}

// Decode decodes data, encoded by c, into *v. It does not keep data: for
// [Raw], *v is a copy, never nil.
func Decode[V any](c Codec, data []byte, v *V) error {
	switch c {
	case JSON:
		return json.Unmarshal(data, v)
	case Gob:
		return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
	case Raw:
		if p, ok := any(v).(*[]byte); ok {
			*p = append([]byte{}, data...)
			return nil
		}
	}
	return Check[V](c)
}

// JSONString returns the JSON of v, as [JSON] encodes it, as a string: the
// bind argument that JSON columns need. It allocates only the string
// (beyond what v's own MarshalJSON methods allocate).
func JSONString(v any) (string, error) {
	e := getEncoder()
	defer e.release()
	if err := e.encode(v); err != nil {
		return "", &encodeError{err}
	}
	return string(e.json()), nil
}

// encoder is a reusable buffer and JSON encoder.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := new(encoder)
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false) // keep <, > and & readable
	return e
}}

// maxPooled is the largest buffer kept for reuse.
const maxPooled = 64 << 10

func getEncoder() *encoder {
	e := encoders.Get().(*encoder)
	e.buf.Reset()
	return e
}

func (e *encoder) encode(v any) error { return e.enc.Encode(v) }

// json returns the encoded JSON, without the newline the encoder adds. It
// is valid until release.
func (e *encoder) json() []byte { return bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'}) }

func (e *encoder) release() {
	if e.buf.Cap() <= maxPooled {
		encoders.Put(e)
	}
}

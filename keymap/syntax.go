package keymap

import (
	"math"
	"reflect"
	"strconv"
	"time"
)

// A syntax writes one output format: the canonical text (textSyntax), the
// canonical binary encoding (binarySyntax) or JSON (jsonSyntax). The encoder
// walks a value once and calls a syntax for each part; value semantics
// (which values are equal, rounding, ignoring, ordering) live in the encoder,
// so every format has the same equivalences.
//
// Each method appends to dst and returns the extended buffer. A kind k is
// reflect.Invalid (0) for untyped keymaps; then the encoder has already
// normalized the number: ints are int64 unless above math.MaxInt64, and floats
// are not integers that fit an int64 or a uint64.
type syntax interface {
	null(dst []byte) []byte
	bool(dst []byte, b bool) []byte
	int(dst []byte, i int64, k reflect.Kind) []byte
	uint(dst []byte, u uint64, k reflect.Kind) []byte
	float(dst []byte, f float64, k reflect.Kind) []byte
	complex(dst []byte, c complex128, k reflect.Kind) []byte
	string(dst []byte, s string) []byte
	bytes(dst []byte, b []byte) []byte
	time(dst []byte, t time.Time) []byte

	// typed and typedEnd surround the value of a time, a time.Location or a
	// TextMarshaler in typed keymaps.
	typed(dst []byte, name string) []byte
	typedEnd(dst []byte) []byte

	// listItem comes before item i of a list of n.
	listStart(dst []byte, n int) []byte
	listItem(dst []byte, i int) []byte
	listEnd(dst []byte) []byte

	// A map of n entries is written mapStart, then for each entry i in
	// order mapEntry, key, mapColon, value; then mapEnd. A struct is written
	// as a map whose entries are field then value. After the encoder writes
	// a map key at dst[start:], it calls mapKey to let JSON turn it into a
	// string.
	mapStart(dst []byte, n int) []byte
	mapEntry(dst []byte, i int) []byte
	mapKey(dst []byte, start int) []byte
	mapColon(dst []byte) []byte
	field(dst []byte, i int, name string) []byte
	mapEnd(dst []byte) []byte

	// The argument list has npos positional arguments, each after argPos or
	// replaced by argIgnored, then nnamed named arguments, each after
	// argNamed.
	argsStart(dst []byte, npos, nnamed int) []byte
	argPos(dst []byte, i int) []byte
	argIgnored(dst []byte, i int) []byte
	argNamed(dst []byte, npos, j int, name string) []byte
	argsEnd(dst []byte, npos, nnamed int) []byte
}

// numberNames are the names typed keymaps give numbers; the binary encoding
// writes the reflect.Kind value itself (a stable part of Go).
var numberNames = [...]string{
	reflect.Int:        "int",
	reflect.Int8:       "int8",
	reflect.Int16:      "int16",
	reflect.Int32:      "int32",
	reflect.Int64:      "int64",
	reflect.Uint:       "uint",
	reflect.Uint8:      "uint8",
	reflect.Uint16:     "uint16",
	reflect.Uint32:     "uint32",
	reflect.Uint64:     "uint64",
	reflect.Uintptr:    "uintptr",
	reflect.Float32:    "float32",
	reflect.Float64:    "float64",
	reflect.Complex64:  "complex64",
	reflect.Complex128: "complex128",
}

// appendFloat appends the canonical text of a float: NaN, +Inf, -Inf, an
// exact integer below 1e21 in magnitude, or else strconv's shortest 'g'
// form for bits 32 or 64.
func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case f != f:
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-Inf"...)
	case f == math.Trunc(f) && math.Abs(f) < 1e21:
		if math.Abs(f) < 1<<53 {
			return strconv.AppendInt(dst, int64(f), 10)
		}
		return strconv.AppendFloat(dst, f, 'f', 0, 64) // exact: the value is an integer
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendComplex appends (re+imi) or (re-imi), each part as appendFloat.
func appendComplex(dst []byte, c complex128, bits int) []byte {
	dst = append(dst, '(')
	dst = appendFloat(dst, real(c), bits)
	if im := imag(c); !math.IsInf(im, 0) && (im >= 0 || im != im) {
		dst = append(dst, '+')
	}
	dst = appendFloat(dst, imag(c), bits)
	return append(dst, "i)"...)
}

// floatBits returns 32 for float32 and complex64, else 64.
func floatBits(k reflect.Kind) int {
	if k == reflect.Float32 || k == reflect.Complex64 {
		return 32
	}
	return 64
}

// timeLayout is RFC 3339 with exactly nine fractional digits; applied to a
// UTC time it ends in Z.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func appendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, timeLayout)
}

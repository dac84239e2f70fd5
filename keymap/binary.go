package keymap

import (
	"encoding/binary"
	"math"
	"reflect"
	"time"
)

// Tags of the canonical binary encoding; see the package documentation.
const (
	tagNil     = 'N'
	tagFalse   = 'F'
	tagTrue    = 'T'
	tagInt     = 'I' // zigzag varint
	tagUint    = 'U' // uvarint, above math.MaxInt64
	tagFloat   = 'D' // 8 bytes, IEEE 754 big-endian
	tagComplex = 'C' // 16 bytes: real, imaginary
	tagNumber  = 'K' // typed: kind byte, payload
	tagString  = 'S' // uvarint length, UTF-8 or any bytes
	tagBytes   = 'B' // uvarint length, bytes
	tagTime    = 'Z' // uvarint length, RFC 3339 text
	tagTyped   = 'Y' // uvarint length, type name, value
	tagList    = 'L' // uvarint count, values
	tagMap     = 'M' // uvarint count, key value pairs
	tagName    = 'A' // uvarint length, name: a struct field or named argument
	tagIgnored = '_' // an ignored positional argument
)

// The bits written for every NaN.
const (
	canonicalNaN64 = 0x7FF8000000000000
	canonicalNaN32 = 0x7FC00000
)

// binarySyntax writes the canonical binary encoding of the Raw, Hash and
// Encoded(Binary) keymaps.
type binarySyntax struct{}

func (binarySyntax) null(dst []byte) []byte { return append(dst, tagNil) }

func (binarySyntax) bool(dst []byte, b bool) []byte {
	if b {
		return append(dst, tagTrue)
	}
	return append(dst, tagFalse)
}

func (binarySyntax) int(dst []byte, i int64, k reflect.Kind) []byte {
	if k == reflect.Invalid {
		return binary.AppendVarint(append(dst, tagInt), i)
	}
	return binary.AppendVarint(append(dst, tagNumber, byte(k)), i)
}

func (binarySyntax) uint(dst []byte, u uint64, k reflect.Kind) []byte {
	if k == reflect.Invalid {
		return binary.AppendUvarint(append(dst, tagUint), u)
	}
	return binary.AppendUvarint(append(dst, tagNumber, byte(k)), u)
}

func (binarySyntax) float(dst []byte, f float64, k reflect.Kind) []byte {
	switch k {
	case reflect.Invalid:
		return appendFloat64Bits(append(dst, tagFloat), f)
	case reflect.Float32:
		return appendFloat32Bits(append(dst, tagNumber, byte(k)), float32(f))
	}
	return appendFloat64Bits(append(dst, tagNumber, byte(k)), f)
}

func (binarySyntax) complex(dst []byte, c complex128, k reflect.Kind) []byte {
	switch k {
	case reflect.Invalid:
		dst = append(dst, tagComplex)
	case reflect.Complex64:
		dst = appendFloat32Bits(append(dst, tagNumber, byte(k)), float32(real(c)))
		return appendFloat32Bits(dst, float32(imag(c)))
	default:
		dst = append(dst, tagNumber, byte(k))
	}
	return appendFloat64Bits(appendFloat64Bits(dst, real(c)), imag(c))
}

func (binarySyntax) string(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(append(dst, tagString), uint64(len(s))), s...)
}

func (binarySyntax) bytes(dst []byte, b []byte) []byte {
	return append(binary.AppendUvarint(append(dst, tagBytes), uint64(len(b))), b...)
}

func (binarySyntax) time(dst []byte, t time.Time) []byte {
	dst = append(dst, tagTime)
	n := len(dst)
	dst = appendTime(append(dst, 0), t) // RFC 3339 text is shorter than 128 bytes: one length byte
	dst[n] = byte(len(dst) - n - 1)
	return dst
}

func (binarySyntax) typed(dst []byte, name string) []byte {
	return appendName(append(dst, tagTyped), name)
}
func (binarySyntax) typedEnd(dst []byte) []byte { return dst }

func (binarySyntax) listStart(dst []byte, n int) []byte {
	return binary.AppendUvarint(append(dst, tagList), uint64(n))
}
func (binarySyntax) listItem(dst []byte, i int) []byte { return dst }
func (binarySyntax) listEnd(dst []byte) []byte         { return dst }

func (binarySyntax) mapStart(dst []byte, n int) []byte {
	return binary.AppendUvarint(append(dst, tagMap), uint64(n))
}
func (binarySyntax) mapEntry(dst []byte, i int) []byte   { return dst }
func (binarySyntax) mapKey(dst []byte, start int) []byte { return dst }
func (binarySyntax) mapColon(dst []byte) []byte          { return dst }
func (binarySyntax) mapEnd(dst []byte) []byte            { return dst }
func (binarySyntax) field(dst []byte, i int, name string) []byte {
	return appendName(append(dst, tagName), name)
}

func (binarySyntax) argsStart(dst []byte, npos, nnamed int) []byte {
	return binary.AppendUvarint(append(dst, Version), uint64(npos+nnamed))
}
func (binarySyntax) argPos(dst []byte, i int) []byte     { return dst }
func (binarySyntax) argIgnored(dst []byte, i int) []byte { return append(dst, tagIgnored) }
func (binarySyntax) argNamed(dst []byte, npos, j int, name string) []byte {
	return appendName(append(dst, tagName), name)
}
func (binarySyntax) argsEnd(dst []byte, npos, nnamed int) []byte { return dst }

// appendName appends the uvarint length of s, then s.
func appendName(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// appendFloat64Bits appends the IEEE 754 bits of f, big-endian, with every NaN
// written as one canonical NaN.
func appendFloat64Bits(dst []byte, f float64) []byte {
	bits := math.Float64bits(f)
	if f != f {
		bits = canonicalNaN64
	}
	return binary.BigEndian.AppendUint64(dst, bits)
}

func appendFloat32Bits(dst []byte, f float32) []byte {
	bits := math.Float32bits(f)
	if f != f {
		bits = canonicalNaN32
	}
	return binary.BigEndian.AppendUint32(dst, bits)
}

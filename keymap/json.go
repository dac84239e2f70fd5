package keymap

import (
	"encoding/base64"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonSyntax writes the JSON form of the Encoded(JSON) keymap.
type jsonSyntax struct{}

func (jsonSyntax) null(dst []byte) []byte { return append(dst, "null"...) }

func (jsonSyntax) bool(dst []byte, b bool) []byte { return strconv.AppendBool(dst, b) }

func (s jsonSyntax) int(dst []byte, i int64, k reflect.Kind) []byte {
	if k == reflect.Invalid {
		return strconv.AppendInt(dst, i, 10)
	}
	return append(strconv.AppendInt(s.typed(dst, numberNames[k]), i, 10), '}')
}

func (s jsonSyntax) uint(dst []byte, u uint64, k reflect.Kind) []byte {
	if k == reflect.Invalid {
		return strconv.AppendUint(dst, u, 10)
	}
	return append(strconv.AppendUint(s.typed(dst, numberNames[k]), u, 10), '}')
}

func (s jsonSyntax) float(dst []byte, f float64, k reflect.Kind) []byte {
	if k == reflect.Invalid {
		return appendJSONFloat(dst, f, 64)
	}
	return append(appendJSONFloat(s.typed(dst, numberNames[k]), f, floatBits(k)), '}')
}

// appendJSONFloat writes a float as appendFloat does; NaN and infinities,
// which JSON lacks, as the strings "NaN", "+Inf" and "-Inf".
func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	if f != f || math.IsInf(f, 0) {
		return append(appendFloat(append(dst, '"'), f, bits), '"')
	}
	return appendFloat(dst, f, bits)
}

func (s jsonSyntax) complex(dst []byte, c complex128, k reflect.Kind) []byte {
	if k != reflect.Invalid {
		dst = s.typed(dst, numberNames[k])
	}
	dst = append(appendComplex(append(dst, '"'), c, floatBits(k)), '"')
	if k != reflect.Invalid {
		dst = append(dst, '}')
	}
	return dst
}

func (jsonSyntax) string(dst []byte, s string) []byte { return appendJSONString(dst, s) }

func (jsonSyntax) bytes(dst []byte, b []byte) []byte {
	return append(base64.StdEncoding.AppendEncode(append(dst, '"'), b), '"')
}

func (jsonSyntax) time(dst []byte, t time.Time) []byte {
	return append(appendTime(append(dst, '"'), t), '"')
}

func (jsonSyntax) typed(dst []byte, name string) []byte {
	return append(appendJSONString(append(dst, '{'), name), ':')
}
func (jsonSyntax) typedEnd(dst []byte) []byte { return append(dst, '}') }

func (jsonSyntax) listStart(dst []byte, n int) []byte { return append(dst, '[') }
func (jsonSyntax) listItem(dst []byte, i int) []byte  { return comma(dst, i) }
func (jsonSyntax) listEnd(dst []byte) []byte          { return append(dst, ']') }

func (jsonSyntax) mapStart(dst []byte, n int) []byte { return append(dst, '{') }
func (jsonSyntax) mapEntry(dst []byte, i int) []byte { return comma(dst, i) }
func (jsonSyntax) mapColon(dst []byte) []byte        { return append(dst, ':') }
func (jsonSyntax) mapEnd(dst []byte) []byte          { return append(dst, '}') }

// mapKey turns a key that is not a JSON string into the string of its JSON
// text, as object keys must be strings: 1 becomes "1".
func (jsonSyntax) mapKey(dst []byte, start int) []byte {
	if dst[start] == '"' {
		return dst
	}
	var buf [64]byte
	key := append(buf[:0], dst[start:]...)
	return appendJSONString(dst[:start], unsafeString(key))
}

func (jsonSyntax) field(dst []byte, i int, name string) []byte {
	return append(appendJSONString(comma(dst, i), name), ':')
}

// The argument list is an array of the positional arguments when there are
// no named ones, an object of the named arguments when there are no
// positional ones, and {"pos":[...],"named":{...}} when there are both.

func (jsonSyntax) argsStart(dst []byte, npos, nnamed int) []byte {
	switch {
	case npos == 0:
		return append(dst, '{')
	case nnamed == 0:
		return append(dst, '[')
	}
	return append(dst, `{"pos":[`...)
}

func (jsonSyntax) argPos(dst []byte, i int) []byte { return comma(dst, i) }

func (jsonSyntax) argIgnored(dst []byte, i int) []byte { return append(comma(dst, i), "null"...) }

func (jsonSyntax) argNamed(dst []byte, npos, j int, name string) []byte {
	if j == 0 && npos > 0 {
		dst = append(dst, `],"named":{`...)
	}
	return append(appendJSONString(comma(dst, j), name), ':')
}

func (jsonSyntax) argsEnd(dst []byte, npos, nnamed int) []byte {
	switch {
	case npos == 0:
		return append(dst, '}')
	case nnamed == 0:
		return append(dst, ']')
	}
	return append(dst, "}}"...)
}

// comma appends the comma that comes before item i > 0.
func comma(dst []byte, i int) []byte {
	if i > 0 {
		return append(dst, ',')
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. It escapes '"', '\\' and
// control characters, and writes each byte of invalid UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, `\n`...)
		case '\r':
			dst = append(dst, `\r`...)
		case '\t':
			dst = append(dst, `\t`...)
		default:
			if c < utf8.RuneSelf {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			} else {
				dst = append(dst, `\ufffd`...)
			}
		}
		i++
		start = i
	}
	return append(append(dst, s[start:]...), '"')
}

package keymap

import (
	"reflect"
	"strconv"
	"time"
)

// textSyntax writes the canonical text of the String keymap.
type textSyntax struct{}

func (textSyntax) null(dst []byte) []byte { return append(dst, "nil"...) }

func (textSyntax) bool(dst []byte, b bool) []byte { return strconv.AppendBool(dst, b) }

func (textSyntax) int(dst []byte, i int64, k reflect.Kind) []byte {
	if k == reflect.Invalid {
		return strconv.AppendInt(dst, i, 10)
	}
	dst = append(append(dst, numberNames[k]...), '(')
	return append(strconv.AppendInt(dst, i, 10), ')')
}

func (textSyntax) uint(dst []byte, u uint64, k reflect.Kind) []byte {
	if k == reflect.Invalid {
		return strconv.AppendUint(dst, u, 10)
	}
	dst = append(append(dst, numberNames[k]...), '(')
	return append(strconv.AppendUint(dst, u, 10), ')')
}

func (textSyntax) float(dst []byte, f float64, k reflect.Kind) []byte {
	if k == reflect.Invalid {
		return appendFloat(dst, f, 64)
	}
	dst = append(append(dst, numberNames[k]...), '(')
	return append(appendFloat(dst, f, floatBits(k)), ')')
}

func (textSyntax) complex(dst []byte, c complex128, k reflect.Kind) []byte {
	if k != reflect.Invalid {
		dst = append(dst, numberNames[k]...)
	}
	return appendComplex(dst, c, floatBits(k))
}

func (textSyntax) string(dst []byte, s string) []byte { return appendQuote(dst, s) }

func (textSyntax) bytes(dst []byte, b []byte) []byte {
	return appendQuote(append(dst, 'b'), unsafeString(b))
}

func (textSyntax) time(dst []byte, t time.Time) []byte {
	return append(appendTime(append(dst, 't', '"'), t), '"')
}

func (textSyntax) typed(dst []byte, name string) []byte { return append(append(dst, name...), '(') }
func (textSyntax) typedEnd(dst []byte) []byte           { return append(dst, ')') }

func (textSyntax) listStart(dst []byte, n int) []byte { return append(dst, '[') }
func (textSyntax) listItem(dst []byte, i int) []byte  { return sep(dst, i) }
func (textSyntax) listEnd(dst []byte) []byte          { return append(dst, ']') }

func (textSyntax) mapStart(dst []byte, n int) []byte   { return append(dst, '{') }
func (textSyntax) mapEntry(dst []byte, i int) []byte   { return sep(dst, i) }
func (textSyntax) mapKey(dst []byte, start int) []byte { return dst }
func (textSyntax) mapColon(dst []byte) []byte          { return append(dst, ": "...) }
func (textSyntax) mapEnd(dst []byte) []byte            { return append(dst, '}') }
func (textSyntax) field(dst []byte, i int, name string) []byte {
	return append(append(sep(dst, i), name...), '=')
}

func (textSyntax) argsStart(dst []byte, npos, nnamed int) []byte { return append(dst, '(') }
func (textSyntax) argPos(dst []byte, i int) []byte               { return sep(dst, i) }
func (textSyntax) argIgnored(dst []byte, i int) []byte           { return append(sep(dst, i), '_') }
func (textSyntax) argNamed(dst []byte, npos, j int, name string) []byte {
	return append(append(sep(dst, npos+j), name...), '=')
}
func (textSyntax) argsEnd(dst []byte, npos, nnamed int) []byte { return append(dst, ')') }

// sep appends the ", " that comes before item i > 0.
func sep(dst []byte, i int) []byte {
	if i > 0 {
		return append(dst, ", "...)
	}
	return dst
}

// appendQuote is strconv.AppendQuote with a fast path for the common strings
// of printable ASCII, which it copies as they are.
func appendQuote(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return strconv.AppendQuote(dst, s)
		}
	}
	return append(append(append(dst, '"'), s...), '"')
}

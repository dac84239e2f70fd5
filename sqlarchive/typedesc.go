package sqlarchive

import (
	"crypto/sha256"
	"encoding"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// maxTypeDepth is how deep describeType follows a type's elements and
// fields; deeper types are given by name (or kind) only.
const maxTypeDepth = 8

// maxTypeDesc is the longest description describeType returns: a longer
// one is cut and ends with a hash of the whole.
const maxTypeDesc = 4000

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	gobEncoder    = reflect.TypeFor[gob.GobEncoder]()
)

// describeType returns a deterministic, readable description of the shape
// of t, as the codecs see it: named types by package path and name, with
// the shape of their underlying type unless they encode themselves
// (json.Marshaler, encoding.TextMarshaler or gob.GobEncoder); structs by
// their exported and embedded fields, with names, types and json tags; and
// pointers, slices, arrays and maps by their elements. For example,
// "struct{N int; Name string `json:\"name\"`}" or
// "github.com/x/y.Point{X float64; Y float64}". Two types of one
// description encode alike; a changed field name, field type or json tag
// changes it.
func describeType(t reflect.Type) string {
	var b strings.Builder
	describe(&b, t, 0, map[reflect.Type]bool{})
	s := b.String()
	if len(s) > maxTypeDesc {
		sum := sha256.Sum256([]byte(s))
		s = s[:maxTypeDesc-80] + "... sha256:" + hex.EncodeToString(sum[:])
	}
	return s
}

func describe(b *strings.Builder, t reflect.Type, depth int, open map[reflect.Type]bool) {
	if t == nil {
		b.WriteString("nil")
		return
	}
	named := t.Name() != ""
	if named {
		if t.PkgPath() != "" {
			b.WriteString(t.PkgPath())
			b.WriteByte('.')
		}
		b.WriteString(t.Name())
		if t.PkgPath() == "" || depth >= maxTypeDepth || open[t] || encodesItself(t) || t.Kind() == reflect.Interface {
			return // predeclared, too deep, recursive or opaque
		}
		open[t] = true
		defer delete(open, t)
		if t.Kind() != reflect.Struct {
			b.WriteByte('(')
			defer b.WriteByte(')')
		}
	} else if depth >= maxTypeDepth {
		b.WriteString(t.Kind().String() + "...")
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		b.WriteByte('*')
		describe(b, t.Elem(), depth+1, open)
	case reflect.Slice:
		b.WriteString("[]")
		describe(b, t.Elem(), depth+1, open)
	case reflect.Array:
		b.WriteString("[" + strconv.Itoa(t.Len()) + "]")
		describe(b, t.Elem(), depth+1, open)
	case reflect.Map:
		b.WriteString("map[")
		describe(b, t.Key(), depth+1, open)
		b.WriteByte(']')
		describe(b, t.Elem(), depth+1, open)
	case reflect.Struct:
		if !named {
			b.WriteString("struct")
		}
		b.WriteByte('{')
		first := true
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue // no codec sees it
			}
			if !first {
				b.WriteString("; ")
			}
			first = false
			if !f.Anonymous {
				b.WriteString(f.Name + " ")
			}
			describe(b, f.Type, depth+1, open)
			if tag, ok := f.Tag.Lookup("json"); ok {
				b.WriteString(" `json:" + strconv.Quote(tag) + "`")
			}
		}
		b.WriteByte('}')
	default:
		if named {
			b.WriteString(t.Kind().String())
		} else {
			b.WriteString(t.String()) // a basic type, func, chan or interface
		}
	}
}

// encodesItself reports whether t, or *t, encodes itself in some codec, so
// that its shape says nothing of its encoding.
func encodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	for _, i := range []reflect.Type{jsonMarshaler, textMarshaler, gobEncoder} {
		if t.Implements(i) || p.Implements(i) {
			return true
		}
	}
	return false
}

package keymap

import (
	"encoding"
	"reflect"
	"sync"
	"time"
	"unicode"
)

// special says how values of a type are encoded when not by their kind.
type special uint8

const (
	notSpecial      special = iota
	specialTime             // time.Time, or a type defined as time.Time: its instant
	specialLocation         // time.Location: its name
	specialText             // T implements encoding.TextMarshaler: its text
	specialPtrText          // only *T implements encoding.TextMarshaler: its text
)

// typeInfo is what the encoder needs to know about a type beyond its kind.
type typeInfo struct {
	special special
	name    string  // the type's name as typed keymaps write it
	fields  []field // of a struct that is not special, in declaration order
	err     error   // a *NameError from the struct's klepto tags
}

// field is a struct field that takes part in keys.
type field struct {
	index int          // in the struct; the argument's position
	name  string       // the Go name, or the name its klepto tag gives
	kind  reflect.Kind // of the field's type
	plain bool         // the type is predeclared: bool, int, string and so on
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	locationType      = reflect.TypeFor[time.Location]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	argsType          = reflect.TypeFor[Args]()
)

// predeclared holds, by kind, the predeclared type of each basic kind. A
// value of such a type has no methods, so the encoder skips typeInfoOf.
var predeclared = [...]reflect.Type{
	reflect.Bool:       reflect.TypeFor[bool](),
	reflect.Int:        reflect.TypeFor[int](),
	reflect.Int8:       reflect.TypeFor[int8](),
	reflect.Int16:      reflect.TypeFor[int16](),
	reflect.Int32:      reflect.TypeFor[int32](),
	reflect.Int64:      reflect.TypeFor[int64](),
	reflect.Uint:       reflect.TypeFor[uint](),
	reflect.Uint8:      reflect.TypeFor[uint8](),
	reflect.Uint16:     reflect.TypeFor[uint16](),
	reflect.Uint32:     reflect.TypeFor[uint32](),
	reflect.Uint64:     reflect.TypeFor[uint64](),
	reflect.Uintptr:    reflect.TypeFor[uintptr](),
	reflect.Float32:    reflect.TypeFor[float32](),
	reflect.Float64:    reflect.TypeFor[float64](),
	reflect.Complex64:  reflect.TypeFor[complex64](),
	reflect.Complex128: reflect.TypeFor[complex128](),
	reflect.String:     reflect.TypeFor[string](),
}

// typeCache maps a reflect.Type to its *typeInfo, like encoding/json's cache
// of field lists: each type is inspected once per process.
var typeCache sync.Map

func typeInfoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeCache.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti, _ := typeCache.LoadOrStore(t, newTypeInfo(t))
	return ti.(*typeInfo)
}

func newTypeInfo(t reflect.Type) *typeInfo {
	ti := &typeInfo{name: t.String()}
	switch {
	case t == timeType || t.Kind() == reflect.Struct && t.ConvertibleTo(timeType):
		ti.special = specialTime
	case t == locationType:
		ti.special = specialLocation
	case t.Kind() == reflect.Interface || t.Kind() == reflect.Pointer:
		// The encoder looks through these before it asks.
	case t.Implements(textMarshalerType):
		ti.special = specialText
	case reflect.PointerTo(t).Implements(textMarshalerType):
		ti.special = specialPtrText
	case t.Kind() == reflect.Struct:
		ti.fields, ti.err = structFields(t)
	}
	return ti
}

// structFields returns the fields of struct type t that take part in keys:
// all but blank fields and fields tagged klepto:"-", exported or not.
func structFields(t reflect.Type) ([]field, error) {
	fields := make([]field, 0, t.NumField())
	seen := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Name == "_" {
			continue
		}
		name := sf.Name
		switch tag := sf.Tag.Get("klepto"); tag {
		case "-":
			continue
		case "":
		default:
			if !validName(tag) {
				return nil, &NameError{Type: t, Name: tag}
			}
			name = tag
		}
		if seen[name] {
			return nil, &NameError{Type: t, Name: name, Duplicate: true}
		}
		seen[name] = true
		k := sf.Type.Kind()
		fields = append(fields, field{index: i, name: name, kind: k, plain: isPlain(sf.Type, k)})
	}
	return fields, nil
}

// validName reports whether name may name an argument: it is not empty and
// holds only letters, digits, '_' and '-', so that name= never looks like
// anything else in the canonical text.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r != '_' && r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

package keymap

import "reflect"

// EqualKeys reports whether any two values of type t that == finds equal
// have the same key under k, so that a cache may keep the keys of its
// arguments by argument value and make a key only for an argument it has
// not seen (package cache does).
//
// It is true for bools, numbers and strings, and for arrays and structs
// made of them, unless t or a type inside it is a time.Time or implements
// encoding.TextMarshaler (on the value or the pointer), whose key may
// depend on more than the value. It is false for pointers, interfaces and
// every type that == cannot compare. Floats qualify: 0 and -0 have one key,
// and NaN, unequal to itself, is never found by value.
func (k *Keymap) EqualKeys(t reflect.Type) bool {
	return t != nil && plainValue(t, 0)
}

// plainValue reports whether the key of a value of t depends on its bytes
// alone: t holds no pointer and nothing the encoder encodes by a method.
func plainValue(t reflect.Type, depth int) bool {
	if depth > MaxDepth {
		return false
	}
	if ti := typeInfoOf(t); ti.special != notSpecial {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return plainValue(t.Elem(), depth+1)
	case reflect.Struct:
		for i := range t.NumField() {
			if !plainValue(t.Field(i).Type, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

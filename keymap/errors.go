package keymap

import (
	"errors"
	"reflect"
	"strconv"
)

// ErrTooDeep is returned for a value nested more than [MaxDepth] levels deep.
var ErrTooDeep = errors.New("keymap: value nested more than 10000 levels deep")

// ErrInvalidOptions is returned, wrapped with details, by the constructors
// and the Parse functions for options, algorithms and encodings that do not
// exist or are out of range.
var ErrInvalidOptions = errors.New("keymap: invalid options")

// ErrMalformed is returned, wrapped with details, by [Decode] for input that
// is not a binary key of this [Version].
var ErrMalformed = errors.New("keymap: malformed binary key")

// errNeedAddr reports, inside one encoding attempt, a value that can only be
// read through its address (an unexported field holding a time or an
// encoding.TextMarshaler) but was reached without one. The encoder then
// starts again on addressable copies; callers never see it.
var errNeedAddr = errors.New("keymap: value needs an address")

// An UnsupportedTypeError reports a value that has no key: a func, a channel
// or an unsafe.Pointer, nil or not, anywhere inside the arguments.
type UnsupportedTypeError struct {
	Type reflect.Type // the unsupported type
	Path string       // where the value is, such as ".Callback" or "[2].f"
}

func (e *UnsupportedTypeError) Error() string {
	return "keymap: unsupported type " + e.Type.String() + at(e.Path)
}

// A CycleError reports a value that contains itself through a pointer, a map
// or a slice.
type CycleError struct {
	Type reflect.Type // the type of the pointer, map or slice met twice
	Path string       // where it was met the second time
}

func (e *CycleError) Error() string {
	return "keymap: cycle through " + e.Type.String() + at(e.Path)
}

// A MarshalerError reports an error returned (or a panic raised) by the
// MarshalText method of a value inside the arguments.
type MarshalerError struct {
	Type reflect.Type // the type whose MarshalText failed
	Path string       // where the value is
	Err  error        // what MarshalText returned
}

func (e *MarshalerError) Error() string {
	return "keymap: marshaling " + e.Type.String() + at(e.Path) + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *MarshalerError) Unwrap() error { return e.Err }

// A NameError reports an argument or field name that cannot appear in a key:
// a klepto struct tag or an [Args.Named] key that is empty or holds other
// characters than letters, digits, '_' and '-', or a name that two fields of
// one struct share.
type NameError struct {
	Type      reflect.Type // the struct type; nil for a key of Args.Named
	Name      string       // the offending name
	Duplicate bool         // whether the name is valid but used twice
}

func (e *NameError) Error() string {
	what := "invalid"
	if e.Duplicate {
		what = "duplicate"
	}
	where := " in Args.Named"
	if e.Type != nil {
		where = " in " + e.Type.String()
	}
	return "keymap: " + what + " argument name " + strconv.Quote(e.Name) + where
}

func at(path string) string {
	if path == "" {
		return ""
	}
	return " at " + path
}

// setPath records where a value error happened.
func setPath(err error, path string) {
	switch err := err.(type) {
	case *UnsupportedTypeError:
		err.Path = path
	case *CycleError:
		err.Path = path
	case *MarshalerError:
		err.Path = path
	}
}

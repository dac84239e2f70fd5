package keymap

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Options configure a [Keymap]. The zero value is valid: untyped, named
// arguments in declaration order, nothing ignored, no rounding. Constructors
// validate the options, copy what they need and never modify them.
type Options struct {
	// Typed makes the kind of every number, and the type of every time and
	// encoding.TextMarshaler value, part of the key: int 1, uint 1 and
	// float64 1 give three keys. By default numbers equal in value give one
	// key.
	Typed bool

	// Flat sorts named arguments by name. By default the fields of an
	// argument struct keep their declaration order; the keys of
	// [Args.Named] are always sorted.
	Flat bool

	// Ignore lists the names of arguments left out of the key, as keys show
	// them: keys of Args.Named, and the field names of argument structs
	// (the name in the klepto tag of a tagged field). Names must be valid
	// argument names (see [NameError]).
	Ignore []string

	// IgnorePositions lists argument positions whose values are left out of
	// the key: indexes of [Args.Pos], or field indexes of an argument
	// struct, or 0 for a single argument. Positions must not be negative.
	IgnorePositions []int

	// Round selects the floats that are rounded to Tol decimal digits
	// before they are encoded. The default is NoRounding.
	Round RoundMode

	// Tol is the number of decimal digits floats are rounded to, as in
	// Python's round(x, Tol); negative values round to tens, hundreds and
	// so on. It must be in [-308, 308] and only matters when Round is set.
	Tol int
}

// RoundMode selects which floats a [Keymap] rounds (klepto's simple, shallow
// and deep rounding). Rounding changes only the key, never the arguments.
type RoundMode uint8

// Rounding modes.
const (
	NoRounding RoundMode = iota // floats are encoded as they are
	Simple                      // floats that are arguments themselves are rounded
	Shallow                     // also floats directly inside an argument's slices, arrays, maps and structs
	Deep                        // floats at any depth are rounded
)

var roundModeNames = [...]string{NoRounding: "none", Simple: "simple", Shallow: "shallow", Deep: "deep"}

// String returns "none", "simple", "shallow" or "deep".
func (m RoundMode) String() string {
	if int(m) < len(roundModeNames) {
		return roundModeNames[m]
	}
	return "RoundMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseRoundMode returns the RoundMode whose String is s.
func ParseRoundMode(s string) (RoundMode, error) {
	if i := slices.Index(roundModeNames[:], s); i >= 0 {
		return RoundMode(i), nil
	}
	return 0, fmt.Errorf("%w: unknown round mode %q", ErrInvalidOptions, s)
}

// MaxTol is the largest |Options.Tol|: float64 values have no digits beyond.
const MaxTol = 308

// validate checks o and returns the error a constructor reports.
func (o *Options) validate() error {
	if o.Round > Deep {
		return fmt.Errorf("%w: unknown round mode %d", ErrInvalidOptions, o.Round)
	}
	if o.Tol < -MaxTol || o.Tol > MaxTol {
		return fmt.Errorf("%w: tol %d out of range [-308, 308]", ErrInvalidOptions, o.Tol)
	}
	for _, p := range o.IgnorePositions {
		if p < 0 {
			return fmt.Errorf("%w: negative ignored position %d", ErrInvalidOptions, p)
		}
	}
	for _, name := range o.Ignore {
		if !validName(name) {
			return fmt.Errorf("%w: invalid argument name %q in Ignore", ErrInvalidOptions, name)
		}
	}
	return nil
}

// levels returns how many levels below an argument floats are rounded: -1
// for none, 0 for the argument itself, and so on.
func (m RoundMode) levels() int {
	switch m {
	case Simple:
		return 0
	case Shallow:
		return 1
	case Deep:
		return MaxDepth + 1
	}
	return -1
}

// describe appends to b the options that change keys, as Keymap.String
// shows them.
func (o *Options) describe(b *strings.Builder) {
	if o.Typed {
		b.WriteString(" typed")
	}
	if o.Flat {
		b.WriteString(" flat")
	}
	if o.Round != NoRounding {
		b.WriteString(" round=")
		b.WriteString(o.Round.String())
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(o.Tol))
	}
	if len(o.Ignore)+len(o.IgnorePositions) > 0 {
		b.WriteString(" ignore=[")
		for i, name := range o.Ignore {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(name)
		}
		for i, p := range o.IgnorePositions {
			if i > 0 || len(o.Ignore) > 0 {
				b.WriteByte(' ')
			}
			b.WriteByte('#')
			b.WriteString(strconv.Itoa(p))
		}
		b.WriteByte(']')
	}
}

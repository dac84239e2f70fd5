package keymap

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

// Types used across the tests.

type point struct {
	X, Y int
}

type tagged struct {
	UserID  int    `klepto:"user_id"`
	Verbose bool   `klepto:"-"`
	Log     func() `klepto:"-"`
	Name    string
}

type private struct {
	n int
	s string
}

type Base struct {
	ID int
}

type embeds struct {
	Base
	Name string
}

type celsius float64

type color int

// MarshalText makes color a TextMarshaler with a value receiver.
func (c color) MarshalText() ([]byte, error) {
	return []byte([...]string{"red", "green", "blue"}[c%3]), nil
}

// pname has MarshalText on the pointer only.
type pname struct{ first, last string }

func (p *pname) MarshalText() ([]byte, error) { return []byte(p.first + " " + p.last), nil }

type failing struct{ panics bool }

func (f failing) MarshalText() ([]byte, error) {
	if f.panics {
		panic("boom")
	}
	return nil, errors.New("cannot marshal")
}

// hidden holds special values in unexported fields.
type hidden struct {
	when time.Time
	addr netip.Addr
	name pname
	any  any
	m    map[string]time.Time
}

type node struct {
	V    int
	Next *node
}

type withFunc struct {
	Name     string
	Callback func()
}

type deadline time.Time

// mustKeymap returns a function that returns the keymap a constructor
// returns, or fails the test: mustKeymap(t)(NewString(nil)).
func mustKeymap(tb testing.TB) func(*Keymap, error) *Keymap {
	return func(k *Keymap, err error) *Keymap {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
}

// textOf returns the String keymap's text of args.
func textOf(tb testing.TB, opts *Options, args any) string {
	tb.Helper()
	k := mustKeymap(tb)(NewString(opts))
	key, err := k.Key(args)
	if err != nil {
		tb.Fatalf("Key(%#v): %v", args, err)
	}
	return key.Text
}

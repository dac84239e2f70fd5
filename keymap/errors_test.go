package keymap

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

func TestUnsupportedTypes(t *testing.T) {
	var nilFunc func()
	tests := []struct {
		name string
		args any
		typ  reflect.Type
		path string
	}{
		{"func", func() {}, reflect.TypeFor[func()](), "[0]"},
		{"nil func", nilFunc, reflect.TypeFor[func()](), "[0]"},
		{"chan", make(chan int), reflect.TypeFor[chan int](), "[0]"},
		{"unsafe pointer", unsafe.Pointer(&struct{}{}), reflect.TypeFor[unsafe.Pointer](), "[0]"},
		{"field", withFunc{"n", func() {}}, reflect.TypeFor[func()](), ".Callback"},
		{"nested", Args{Pos: []any{1, 2, []struct{ f chan bool }{{}}}}, reflect.TypeFor[chan bool](), "[2][0].f"},
		{"named", Args{Named: map[string]any{"cb": func(int) {}}}, reflect.TypeFor[func(int)](), ".cb"},
		{"map value", map[string]any{"k": func() {}}, reflect.TypeFor[func()](), `[0]["k"]`},
		{"map key", map[chan int]int{make(chan int): 1}, reflect.TypeFor[chan int](), "[0][key]"},
		{"through pointer", struct{ P *func() }{new(func())}, reflect.TypeFor[func()](), ".P"},
		{"through interface", struct{ V any }{struct{ F func() }{}}, reflect.TypeFor[func()](), ".V.F"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range allKeymaps(t) {
				_, err := k.Key(tc.args)
				var ute *UnsupportedTypeError
				if !errors.As(err, &ute) {
					t.Fatalf("%s: err = %v, want an *UnsupportedTypeError", k, err)
				}
				if ute.Type != tc.typ || ute.Path != tc.path {
					t.Errorf("%s: error for %v at %q, want %v at %q", k, ute.Type, ute.Path, tc.typ, tc.path)
				}
			}
		})
	}
}

func TestCycles(t *testing.T) {
	n := &node{V: 1}
	n.Next = &node{V: 2, Next: n}
	m := map[string]any{}
	m["self"] = m
	s := make([]any, 1)
	s[0] = s
	type loop *loop
	var p loop
	p = &p
	tests := []struct {
		name string
		args any
		typ  reflect.Type
		path string
	}{
		{"pointers", n, reflect.TypeFor[*node](), ".Next.Next"},
		{"pointers by value", *n, reflect.TypeFor[*node](), ".Next.Next.Next"},
		{"map", m, reflect.TypeFor[map[string]any](), `[0]["self"]`},
		{"slice", s, reflect.TypeFor[[]any](), "[0][0]"},
		{"pointer to itself", p, reflect.TypeFor[loop](), "[0]"},
		{"in args", Args{Named: map[string]any{"n": n}}, reflect.TypeFor[*node](), ".n.Next.Next"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range allKeymaps(t) {
				_, err := k.Key(tc.args)
				var ce *CycleError
				if !errors.As(err, &ce) {
					t.Fatalf("%s: err = %v, want a *CycleError", k, err)
				}
				if ce.Type != tc.typ || ce.Path != tc.path {
					t.Errorf("%s: cycle through %v at %q, want %v at %q", k, ce.Type, ce.Path, tc.typ, tc.path)
				}
			}
		})
	}
}

// TestLongPath checks cycle detection beyond the visits an encoder holds
// inline and the linear search, and the depth limit.
func TestLongPath(t *testing.T) {
	k := mustKeymap(t)(NewRaw(nil))
	build := func(n int) *node {
		head := &node{}
		for range n - 1 {
			head = &node{V: head.V + 1, Next: head}
		}
		return head
	}
	for _, n := range []int{3, 10, 100, 1000} {
		head := build(n)
		if _, err := k.Key(head); err != nil {
			t.Errorf("list of %d: %v", n, err)
		}
		last := head
		for last.Next != nil {
			last = last.Next
		}
		last.Next = head
		var ce *CycleError
		if _, err := k.Key(head); !errors.As(err, &ce) || strings.Count(ce.Path, ".Next") != n {
			t.Errorf("cycle of %d: %v", n, err)
		}
	}
	if _, err := k.Key(build(MaxDepth)); !errors.Is(err, ErrTooDeep) {
		t.Errorf("list of %d nodes: %v, want ErrTooDeep", MaxDepth, err)
	}
	// Each slice is one level; a []any would be two, the slice and the
	// interface in it.
	type nest []nest
	deep := nest{}
	for range MaxDepth - 1 {
		deep = nest{deep}
	}
	if _, err := k.Key(deep); err != nil {
		t.Errorf("nesting of %d: %v", MaxDepth, err)
	}
	if _, err := k.Key(nest{deep}); !errors.Is(err, ErrTooDeep) {
		t.Errorf("nesting of %d: %v, want ErrTooDeep", MaxDepth+1, err)
	}
}

func TestMarshalerErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args any
		path string
	}{
		{"error", struct{ F failing }{}, ".F"},
		{"panic", Args{Pos: []any{[]failing{{panics: true}}}}, "[0][0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range allKeymaps(t) {
				_, err := k.Key(tc.args)
				var me *MarshalerError
				if !errors.As(err, &me) {
					t.Fatalf("%s: err = %v, want a *MarshalerError", k, err)
				}
				if me.Type != reflect.TypeFor[failing]() || me.Path != tc.path || me.Err == nil || errors.Unwrap(err) != me.Err {
					t.Errorf("%s: %#v", k, me)
				}
			}
		})
	}
}

func TestNameErrors(t *testing.T) {
	type badTag struct {
		A int `klepto:"a b"`
	}
	type dupTag struct {
		A int `klepto:"B"`
		B int
	}
	tests := []struct {
		name string
		args any
		want NameError
	}{
		{"tag", badTag{}, NameError{Type: reflect.TypeFor[badTag](), Name: "a b"}},
		{"tag with options", struct {
			A int `klepto:"a,omitempty"`
		}{}, NameError{Type: reflect.TypeFor[struct {
			A int `klepto:"a,omitempty"`
		}](), Name: "a,omitempty"}},
		{"duplicate", dupTag{}, NameError{Type: reflect.TypeFor[dupTag](), Name: "B", Duplicate: true}},
		{"nested", Args{Pos: []any{dupTag{}}}, NameError{Type: reflect.TypeFor[dupTag](), Name: "B", Duplicate: true}},
		{"args", Args{Named: map[string]any{"x=1": 1}}, NameError{Name: "x=1"}},
		{"empty", Args{Named: map[string]any{"": 1}}, NameError{Name: ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range allKeymaps(t) {
				_, err := k.Key(tc.args)
				var ne *NameError
				if !errors.As(err, &ne) || *ne != tc.want {
					t.Errorf("%s: err = %#v, want %#v", k, err, tc.want)
				}
			}
		})
	}
}

// TestErrorMessages checks the text of each error type once.
func TestErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&UnsupportedTypeError{Type: reflect.TypeFor[func()](), Path: ".Callback"}, "keymap: unsupported type func() at .Callback"},
		{&UnsupportedTypeError{Type: reflect.TypeFor[chan int]()}, "keymap: unsupported type chan int"},
		{&CycleError{Type: reflect.TypeFor[*node](), Path: ".Next"}, "keymap: cycle through *keymap.node at .Next"},
		{&MarshalerError{Type: reflect.TypeFor[color](), Path: "[0]", Err: errors.New("bad")}, "keymap: marshaling keymap.color at [0]: bad"},
		{&NameError{Type: reflect.TypeFor[point](), Name: "a b"}, `keymap: invalid argument name "a b" in keymap.point`},
		{&NameError{Name: "X", Duplicate: true, Type: reflect.TypeFor[point]()}, `keymap: duplicate argument name "X" in keymap.point`},
		{&NameError{Name: ""}, `keymap: invalid argument name "" in Args.Named`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// TestIgnoredNeverEncoded checks that ignored values are not looked at: a
// func or a failing marshaler in an ignored argument is no error.
func TestIgnoredNeverEncoded(t *testing.T) {
	type call struct {
		N   int
		Log func(string)
		F   failing
	}
	for _, k := range allKeymapsWith(t, &Options{Ignore: []string{"Log"}, IgnorePositions: []int{2}}) {
		if _, err := k.Key(call{N: 1}); err != nil {
			t.Errorf("%s: %v", k, err)
		}
		if _, err := k.Key(Args{Pos: []any{1, 2, func() {}}, Named: map[string]any{"Log": make(chan int)}}); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
}

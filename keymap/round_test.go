package keymap

import (
	"math"
	"reflect"
	"testing"
)

// TestRoundPython checks rounding against Python's round(x, tol).
func TestRoundPython(t *testing.T) {
	tests := []struct {
		x    float64
		tol  int
		want float64
	}{
		{2.54, 1, 2.5},
		{5.47, 1, 5.5},
		{8.99, 1, 9},
		{2.675, 2, 2.67}, // the binary value is below 2.675
		{0.5, 0, 0},
		{1.5, 0, 2},
		{2.5, 0, 2},
		{-2.5, 0, -2},
		{0.125, 2, 0.12},
		{0.375, 2, 0.38},
		{1234.5, -2, 1200},
		{1250, -2, 1200},
		{1350, -2, 1400},
		{-1350, -2, -1400},
		{5, -1, 0},
		{15, -1, 20},
		{25, -1, 20},
		{1e22, -21, 1e22},
		{123.456, -308, 0},
		{1.7e308, -308, math.Inf(1)},
		{1e300, 2, 1e300},
		{4503599627370497.5, 1, 4503599627370497.5},
		{5e-324, 308, 0},
		{1.0000000000000002, 15, 1},
		{0.1 + 0.2, 15, 0.3},
		{math.Inf(-1), 2, math.Inf(-1)},
	}
	for _, tc := range tests {
		e := encoder{tol: tc.tol}
		if got := e.round(tc.x); got != tc.want {
			t.Errorf("round(%v, %d) = %v, want %v", tc.x, tc.tol, got, tc.want)
		}
		e.release()
	}
	if e := (encoder{tol: 3}); !math.IsNaN(e.round(math.NaN())) {
		t.Errorf("round(NaN, 3) is not NaN")
	}
}

func TestRoundModes(t *testing.T) {
	// klepto's rounding examples: add(2.54, 5.47) and a nested variant.
	flat := Args{Pos: []any{2.54, 5.47}}
	nested := Args{Pos: []any{[]any{2.54, "x"}, []any{5.47, []any{8.99, "y"}}}}
	ptr := 2.54
	tests := []struct {
		name string
		opts Options
		args any
		want string
	}{
		{"none", Options{Tol: 1}, flat, `(2.54, 5.47)`},
		{"simple", Options{Round: Simple, Tol: 1}, flat, `(2.5, 5.5)`},
		{"simple nested", Options{Round: Simple, Tol: 1}, nested, `([2.54, "x"], [5.47, [8.99, "y"]])`},
		{"shallow nested", Options{Round: Shallow, Tol: 1}, nested, `([2.5, "x"], [5.5, [8.99, "y"]])`},
		{"deep nested", Options{Round: Deep, Tol: 1}, nested, `([2.5, "x"], [5.5, [9, "y"]])`},
		{"struct arguments", Options{Round: Simple, Tol: 1}, struct{ A, B float64 }{2.54, 5.47}, `(A=2.5, B=5.5)`},
		{"named arguments", Options{Round: Simple, Tol: 1}, Args{Named: map[string]any{"a": 2.54}}, `(a=2.5)`},
		{"struct fields", Options{Round: Shallow, Tol: 1}, Args{Pos: []any{struct{ A float64 }{2.54}}}, `({A=2.5})`},
		{"map values not keys", Options{Round: Deep, Tol: 1}, map[float64]float64{2.54: 2.54}, `({2.54: 2.5})`},
		{"pointers are no level", Options{Round: Simple, Tol: 1}, &ptr, `(2.5)`},
		{"interfaces are no level", Options{Round: Shallow, Tol: 1}, []any{&ptr}, `([2.5])`},
		{"negative tol", Options{Round: Simple, Tol: -2}, Args{Pos: []any{1250.0, 1350.0, 1250}}, `(1200, 1400, 1250)`},
		{"ints and complex untouched", Options{Round: Deep, Tol: 0}, Args{Pos: []any{7, complex(2.5, 2.5)}}, `(7, (2.5+2.5i))`},
		{"float32", Options{Round: Simple, Tol: 1}, float32(2.54), `(2.5)`},
		{"float32 typed", Options{Round: Simple, Tol: 1, Typed: true}, float32(2.54), `(float32(2.5))`},
		{"negative zero", Options{Round: Simple, Tol: 0}, -0.4, `(0)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := textOf(t, &tc.opts, tc.args); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestRoundKeyOnly checks that rounding leaves the arguments as they were.
func TestRoundKeyOnly(t *testing.T) {
	type call struct {
		X    float64
		Xs   []float64
		M    map[string]float64
		P    *float64
		Deep [][]float64
	}
	y := 2.675
	in := call{2.54, []float64{5.47, 8.99}, map[string]float64{"a": 1.25}, &y, [][]float64{{0.05}}}
	before := call{2.54, []float64{5.47, 8.99}, map[string]float64{"a": 1.25}, &y, [][]float64{{0.05}}}
	for _, k := range allKeymapsWith(t, &Options{Round: Deep, Tol: 1}) {
		if _, err := k.Key(&in); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(in, before) || y != 2.675 {
		t.Errorf("arguments changed to %+v", in)
	}
}

// allKeymapsWith returns the keymaps of every kind with opts.
func allKeymapsWith(tb testing.TB, opts *Options) []*Keymap {
	tb.Helper()
	return []*Keymap{
		mustKeymap(tb)(NewString(opts)),
		mustKeymap(tb)(NewRaw(opts)),
		mustKeymap(tb)(NewHash(SHA256, opts)),
		mustKeymap(tb)(NewEncoded(JSON, opts)),
	}
}

package keymap

import (
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestBinaryGolden pins the bytes of the canonical binary encoding: a change
// here changes every stored Raw and Hash key and needs a new Version.
func TestBinaryGolden(t *testing.T) {
	typed := &Options{Typed: true}
	tests := []struct {
		name string
		opts *Options
		args any
		hex  string
	}{
		{"struct", nil, struct{ N int }{30}, "01 01 41014e 493c"},
		{"struct typed", typed, struct{ N int }{30}, "01 01 41014e 4b023c"},
		{"no args", nil, Args{}, "01 00"},
		{"nil", nil, nil, "01 01 4e"},
		{"scalars", nil, Args{Pos: []any{true, false, -1, 300, uint64(math.MaxUint64)}},
			"01 05 54 46 4901 49d804 55ffffffffffffffffff01"},
		{"scalars typed", typed, Args{Pos: []any{true, false, -1, 300, uint64(math.MaxUint64)}},
			"01 05 54 46 4b0201 4b02d804 4b0bffffffffffffffffff01"},
		{"floats", nil, Args{Pos: []any{2.5, math.NaN(), math.Copysign(0, -1), math.Inf(-1), 1e21, complex(1, -2), 1.0}},
			"01 07 444004000000000000 447ff8000000000000 4900 44fff0000000000000 44444b1ae4d6e2ef50 433ff0000000000000c000000000000000 4902"},
		{"floats typed", typed, Args{Pos: []any{2.5, math.NaN(), math.Copysign(0, -1), math.Inf(-1), 1e21, complex(1, -2), 1.0}},
			"01 07 4b0e4004000000000000 4b0e7ff8000000000000 4b0e0000000000000000 4b0efff0000000000000 4b0e444b1ae4d6e2ef50 4b103ff0000000000000c000000000000000 4b0e3ff0000000000000"},
		{"kinds typed", typed, Args{Pos: []any{int8(-1), uint16(7), float32(0.5), complex64(complex(1, 2)), uintptr(1), celsius(1)}},
			"01 06 4b0301 4b0907 4b0d3f000000 4b0f3f80000040000000 4b0c01 4b0e3ff0000000000000"},
		{"float32 NaN typed", typed, float32(math.NaN()), "01 01 4b0d7fc00000"},
		{"big integers", nil, Args{Pos: []any{uint64(1 << 63), float64(1 << 63), float64(1 << 64)}},
			"01 03 5580808080808080808001 5580808080808080808001 4443f0000000000000"},
		{"strings and bytes", nil, Args{Pos: []any{"héllo", []byte{0, 1}, [2]byte{2, 3}}},
			"01 03 530668c3a96c6c6f 42020001 42020203"},
		{"containers", nil, Args{Pos: []any{[]any{1, "a"}, map[string]int{"b": 2, "a": 1}, point{1, 2}}},
			"01 03 4c02 4902 530161 4d02 530161 4902 530162 4904 4d02 410158 4902 410159 4904"},
		{"empty containers", nil, Args{Pos: []any{[]int(nil), map[int]int(nil), struct{}{}}}, "01 03 4c00 4d00 4d00"},
		{"time and marshaler", nil, Args{Pos: []any{instant, color(1)}},
			"01 02 5a1e" + hex.EncodeToString([]byte("2026-11-27T07:32:56.123456789Z")) + " 5305677265656e"},
		{"time and marshaler typed", typed, Args{Pos: []any{instant, color(1)}},
			"01 02 590974696d652e54696d65 5a1e" + hex.EncodeToString([]byte("2026-11-27T07:32:56.123456789Z")) +
				" 590c6b65796d61702e636f6c6f72 5305677265656e"},
		{"named", nil, Args{Pos: []any{1, 2}, Named: map[string]any{"x": nil}}, "01 03 4902 4904 410178 4e"},
		{"ignored", &Options{IgnorePositions: []int{0}}, Args{Pos: []any{1, 2}}, "01 02 5f 4904"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, k := range []*Keymap{mustKeymap(t)(NewRaw(tc.opts)), mustKeymap(t)(NewEncoded(Binary, tc.opts))} {
				key, err := k.Key(tc.args)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := hex.EncodeToString([]byte(key.Text)), strings.ReplaceAll(tc.hex, " ", ""); got != want {
					t.Errorf("%s:\ngot  %s\nwant %s", k, got, want)
				}
			}
		})
	}
}

// TestBinaryEquivalences checks that the binary encoding and the canonical
// text agree on which arguments are equal.
func TestBinaryEquivalences(t *testing.T) {
	values := []any{
		nil, (*int)(nil), 0, math.Copysign(0, -1), uint(0), 1, 1.0, float32(1), int8(1), uint64(1), true, false,
		math.NaN(), float32(math.NaN()), math.Inf(1), 2.5, float32(2.5), 0.1, float32(0.1), uint64(1 << 63), float64(1 << 63),
		complex(1, 0), complex64(complex(1, 0)), "", "1", []byte(nil), []byte{}, []byte("1"), [1]byte{'1'},
		[]int(nil), []int{}, []any{}, [0]int{}, []int{1}, []float64{1}, map[int]int(nil), map[string]int{}, struct{}{},
		map[string]int{"A": 1}, struct{ A int }{1}, point{}, instant, instant.UTC(), deadline(instant),
		time.Time{}, color(0), "red", time.UTC, "UTC",
	}
	for _, typed := range []bool{false, true} {
		opts := &Options{Typed: typed}
		s := mustKeymap(t)(NewString(opts))
		r := mustKeymap(t)(NewRaw(opts))
		for _, a := range values {
			for _, b := range values {
				ks, kr := keys(t, s, a, b), keys(t, r, a, b)
				if (ks[0] == ks[1]) != (kr[0] == kr[1]) {
					t.Errorf("typed=%v: %#v and %#v: texts %q, %q; binary keys equal %v", typed, a, b, ks[0], ks[1], kr[0] == kr[1])
				}
			}
		}
	}
}

func keys(tb testing.TB, k *Keymap, args ...any) []string {
	tb.Helper()
	texts := make([]string, len(args))
	for i, a := range args {
		key, err := k.Key(Args{Pos: []any{a}})
		if err != nil {
			tb.Fatal(err)
		}
		texts[i] = key.Text
	}
	return texts
}

func TestDecode(t *testing.T) {
	type rec struct {
		A int
		B []string
	}
	tests := []struct {
		name string
		opts *Options
		args any
		want Args
	}{
		{"scalars", nil, Args{Pos: []any{nil, true, -3, uint64(math.MaxUint64), 2.5, 2.0, complex(1, 2), "s", []byte("b")}},
			Args{Pos: []any{nil, true, int64(-3), uint64(math.MaxUint64), 2.5, int64(2), complex(1, 2), "s", []byte("b")}}},
		{"typed", &Options{Typed: true}, Args{Pos: []any{int8(-3), uint16(9), float32(0.5), 2.0, complex64(complex(1, 2)), uintptr(4), 7}},
			Args{Pos: []any{int8(-3), uint16(9), float32(0.5), 2.0, complex64(complex(1, 2)), uintptr(4), 7}}},
		{"struct", nil, rec{1, []string{"x"}}, Args{Named: map[string]any{"A": int64(1), "B": []any{"x"}}}},
		{"nested", nil, Args{Pos: []any{rec{2, nil}, map[int]bool{1: true}}},
			Args{Pos: []any{map[string]any{"A": int64(2), "B": []any{}}, map[any]any{int64(1): true}}}},
		{"time", nil, instant, Args{Pos: []any{instant.UTC()}}},
		{"typed time", &Options{Typed: true}, instant, Args{Pos: []any{instant.UTC()}}},
		{"ignored", &Options{IgnorePositions: []int{1}}, Args{Pos: []any{1, 2}, Named: map[string]any{"n": "v"}},
			Args{Pos: []any{int64(1), nil}, Named: map[string]any{"n": "v"}}},
		{"empty", nil, Args{}, Args{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := mustKeymap(t)(NewRaw(tc.opts)).Key(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode([]byte(key.Text))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, data := range []string{
		"",
		"\x02\x00",                      // version
		"\x01",                          // no count
		"\x01\x02N",                     // short
		"\x01\x01N\x00",                 // trailing
		"\x01\x01?",                     // tag
		"\x01\x01S\x05ab",               // length
		"\x01\x01L\xff\xff\xff\xff\x0f", // count
		"\x01\x01D\x00\x00",             // float
		"\x01\x01K\x01\x00",             // kind
		"\x01\x01K\x03\x80\x02",         // int8 overflow
		"\x01\x01U\x01",                 // not above MaxInt64
		"\x01\x01Z\x03abc",              // time
		"\x01\x02A\x01xNI\x02",          // positional after named
		"\x01\x02A\x01xNA\x01xN",        // duplicate name
		"\x01\x01M\x01L\x00N",           // list key
		"\x01\x01M\x02A\x01aNNN",        // struct and map
		"\x01\x01I\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", // varint overflow
	} {
		if args, err := Decode([]byte(data)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%q) = %v, %v; want ErrMalformed", data, args, err)
		}
	}
}

func TestDecodeTooDeep(t *testing.T) {
	data := "\x01\x01" + strings.Repeat("L\x01", MaxDepth+1) + "N"
	if _, err := Decode([]byte(data)); !errors.Is(err, ErrMalformed) {
		t.Errorf("Decode of a deep list: %v, want ErrMalformed", err)
	}
}

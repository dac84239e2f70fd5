package keymap

import (
	"encoding/json"
	"math"
	"testing"
)

func TestJSON(t *testing.T) {
	typed := &Options{Typed: true}
	tests := []struct {
		name string
		opts *Options
		args any
		want string
	}{
		{"struct", nil, struct{ N int }{30}, `{"N":30}`},
		{"single", nil, 30, `[30]`},
		{"positional", nil, Args{Pos: []any{1, "a", 2.5}}, `[1,"a",2.5]`},
		{"named", nil, Args{Named: map[string]any{"b": 2, "a": 1}}, `{"a":1,"b":2}`},
		{"mixed", nil, Args{Pos: []any{1}, Named: map[string]any{"x": true}}, `{"pos":[1],"named":{"x":true}}`},
		{"no args", nil, Args{}, `{}`},
		{"ignored", &Options{IgnorePositions: []int{0}}, Args{Pos: []any{1, 2}}, `[null,2]`},
		{"numbers", nil, Args{Pos: []any{1.0, uint64(math.MaxUint64), 1e21, 1.5e-7, math.Copysign(0, -1)}},
			`[1,18446744073709551615,1e+21,1.5e-07,0]`},
		{"special floats", nil, Args{Pos: []any{math.NaN(), math.Inf(1), math.Inf(-1)}}, `["NaN","+Inf","-Inf"]`},
		{"complex", nil, complex(1, -2), `["(1-2i)"]`},
		{"strings", nil, Args{Pos: []any{"a\"b\\c\n\t\x01", "é", "a\xffb", "\u2028<>&"}},
			`["a\"b\\c\n\t\u0001","é","a\ufffdb","` + "\u2028" + `<>&"]`},
		{"bytes", nil, []byte("hi!"), `["aGkh"]`},
		{"lists", nil, Args{Pos: []any{[]int(nil), [2]string{"a", "b"}}}, `[[],["a","b"]]`},
		{"maps", nil, map[string]int{"b": 2, "a": 1}, `[{"a":1,"b":2}]`},
		{"non-string keys", nil, map[int]bool{10: true, 9: false}, `[{"10":true,"9":false}]`},
		{"composite keys", nil, map[point]int{{1, 2}: 3}, `[{"{\"X\":1,\"Y\":2}":3}]`},
		{"nil key", nil, map[*int]int{nil: 1}, `[{"null":1}]`},
		{"structs", nil, Args{Pos: []any{point{1, 2}, struct{}{}}}, `[{"X":1,"Y":2},{}]`},
		{"time", nil, instant, `["2026-11-27T07:32:56.123456789Z"]`},
		{"marshaler", nil, color(2), `["blue"]`},
		{"typed", typed, Args{Pos: []any{1, 1.0, float32(0.5), uint8(3), complex64(complex(1, 2)), math.NaN(), "s"}},
			`[{"int":1},{"float64":1},{"float32":0.5},{"uint8":3},{"complex64":"(1+2i)"},{"float64":"NaN"},"s"]`},
		{"typed time", typed, instant, `[{"time.Time":"2026-11-27T07:32:56.123456789Z"}]`},
		{"typed keys", typed, map[int]int{1: 2}, `[{"{\"int\":1}":{"int":2}}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, err := mustKeymap(t)(NewEncoded(JSON, tc.opts)).Key(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if key.Text != tc.want {
				t.Errorf("got  %s\nwant %s", key.Text, tc.want)
			}
			if !json.Valid([]byte(key.Text)) {
				t.Errorf("invalid JSON %s", key.Text)
			}
		})
	}
}

// TestJSONReadBack checks that the JSON reads back with encoding/json.
func TestJSONReadBack(t *testing.T) {
	type call struct {
		Name  string
		Tags  []string
		Score float64
		Meta  map[string]int
	}
	in := call{"a\x00é", []string{"x", "y"}, 2.5, map[string]int{"k": 1}}
	key, err := mustKeymap(t)(NewEncoded(JSON, nil)).Key(in)
	if err != nil {
		t.Fatal(err)
	}
	var out call
	if err := json.Unmarshal([]byte(key.Text), &out); err != nil {
		t.Fatal(err)
	}
	if out.Name != in.Name || len(out.Tags) != 2 || out.Score != in.Score || out.Meta["k"] != 1 {
		t.Errorf("read back %+v from %s, want %+v", out, key.Text, in)
	}
}

package keymap

import (
	"encoding/json"
	"math"
	"net/netip"
	"testing"
	"time"
)

var instant = time.Date(2026, 11, 27, 8, 32, 56, 123456789, time.FixedZone("CET", 3600))

func mapWithNaNs() map[float64]int {
	m := map[float64]int{}
	m[math.NaN()] = 2
	m[math.NaN()] = 1
	return m
}

func TestStringText(t *testing.T) {
	x := 5
	tests := []struct {
		name string
		opts *Options
		args any
		want string
	}{
		// Argument lists.
		{"struct", nil, point{1, 2}, `(X=1, Y=2)`},
		{"pointer to struct", nil, &point{1, 2}, `(X=1, Y=2)`},
		{"pointer to pointer to struct", nil, func() **point { p := &point{1, 2}; return &p }(), `(X=1, Y=2)`},
		{"args positional", nil, Args{Pos: []any{1, "a", 2.5}}, `(1, "a", 2.5)`},
		{"args named sorted", nil, Args{Named: map[string]any{"b": 2, "a": 1}}, `(a=1, b=2)`},
		{"args mixed", nil, Args{Pos: []any{1}, Named: map[string]any{"x": true}}, `(1, x=true)`},
		{"pointer to args", nil, &Args{Pos: []any{1}}, `(1)`},
		{"no args", nil, Args{}, `()`},
		{"empty struct", nil, struct{}{}, `()`},
		{"single int", nil, 30, `(30)`},
		{"single nil", nil, nil, `(nil)`},
		{"nil pointer to struct", nil, (*point)(nil), `(nil)`},
		{"single slice", nil, []int{1, 2}, `([1, 2])`},
		{"struct like args", nil, struct{ N int }{30}, `(N=30)`},
		{"args like struct", nil, Args{Named: map[string]any{"N": 30}}, `(N=30)`},

		// Scalars.
		{"bools", nil, Args{Pos: []any{true, false}}, `(true, false)`},
		{"integers", nil, Args{Pos: []any{int8(-5), int64(math.MinInt64), uint64(math.MaxUint64), uintptr(7)}},
			`(-5, -9223372036854775808, 18446744073709551615, 7)`},
		{"int", nil, 1, `(1)`},
		{"float integer", nil, 1.0, `(1)`},
		{"uint", nil, uint(1), `(1)`},
		{"float32 integer", nil, float32(1), `(1)`},
		{"int8", nil, int8(1), `(1)`},
		{"float", nil, 2.5, `(2.5)`},
		{"float 0.1", nil, 0.1, `(0.1)`},
		{"float32 0.1", nil, float32(0.1), `(0.10000000149011612)`},
		{"negative zero", nil, math.Copysign(0, -1), `(0)`},
		{"NaN", nil, math.NaN(), `(NaN)`},
		{"NaN payload", nil, math.Float64frombits(0x7FF0000000000ABC), `(NaN)`},
		{"infinities", nil, Args{Pos: []any{math.Inf(1), math.Inf(-1)}}, `(+Inf, -Inf)`},
		{"float 1e20", nil, 1e20, `(100000000000000000000)`},
		{"float 1e21", nil, 1e21, `(1e+21)`},
		{"float 2^63", nil, float64(1 << 63), `(9223372036854775808)`},
		{"float 2^64", nil, float64(1 << 64), `(18446744073709551616)`},
		{"small float", nil, 1.5e-7, `(1.5e-07)`},
		{"large fraction", nil, 1234567.5, `(1.2345675e+06)`},
		{"negative float", nil, -0.25, `(-0.25)`},
		{"named float", nil, celsius(21.5), `(21.5)`},
		{"complex", nil, complex(1, 2), `((1+2i))`},
		{"complex negative imaginary", nil, complex(0, -1.5), `((0-1.5i))`},
		{"complex zeros", nil, complex(math.Copysign(0, -1), math.Copysign(0, -1)), `((0+0i))`},
		{"complex special", nil, complex(math.NaN(), math.Inf(1)), `((NaN+Infi))`},
		{"complex negative infinity", nil, complex(1, math.Inf(-1)), `((1-Infi))`},
		{"complex64", nil, complex64(complex(1, 2)), `((1+2i))`},
		{"string", nil, "a\tb", `("a\tb")`},
		{"empty string", nil, "", `("")`},
		{"invalid UTF-8", nil, "a\xffb", `("a\xffb")`},
		{"NUL", nil, "a\x00b", `("a\x00b")`},
		{"unicode", nil, "é€", `("é€")`},
		{"quotes", nil, `say "hi" \o/`, `("say \"hi\" \\o/")`},
		{"replacement character", nil, "\uFFFD", `("�")`},

		// Bytes, lists and maps.
		{"bytes", nil, []byte("a\x00\xff"), `(b"a\x00\xff")`},
		{"nil bytes", nil, []byte(nil), `(b"")`},
		{"byte array", nil, [3]byte{1, 2, 3}, `(b"\x01\x02\x03")`},
		{"byte array addressable", nil, &[2]byte{'h', 'i'}, `(b"hi")`},
		{"named bytes", nil, json.RawMessage(`{}`), `(b"{}")`},
		{"slice", nil, []int{1, 2}, `([1, 2])`},
		{"nil slice", nil, []int(nil), `([])`},
		{"empty slice", nil, []int{}, `([])`},
		{"array", nil, [2]string{"a", "b"}, `(["a", "b"])`},
		{"mixed slice", nil, []any{1, "a", nil, 2.5}, `([1, "a", nil, 2.5])`},
		{"nested slices", nil, [][]int{{1}, {2, 3}}, `([[1], [2, 3]])`},
		{"map", nil, map[string]int{"b": 2, "a": 1}, `({"a": 1, "b": 2})`},
		{"map sorted by text", nil, map[int]string{10: "x", 9: "y"}, `({10: "x", 9: "y"})`},
		{"nil map", nil, map[string]int(nil), `({})`},
		{"empty map", nil, map[string]int{}, `({})`},
		{"NaN keys", nil, mapWithNaNs(), `({NaN: 1, NaN: 2})`},
		{"equal keys", nil, map[any]int{1: 2, 1.0: 1}, `({1: 1, 1: 2})`},
		{"struct keys", nil, map[point]bool{{1, 2}: true}, `({{X=1, Y=2}: true})`},
		{"map of slices", nil, map[string][]int{"a": {1}}, `({"a": [1]})`},

		// Structs and pointers.
		{"nested struct", nil, Args{Pos: []any{point{1, 2}}}, `({X=1, Y=2})`},
		{"nested empty struct", nil, Args{Pos: []any{struct{}{}}}, `({})`},
		{"tags", nil, tagged{UserID: 7, Verbose: true, Log: func() {}, Name: "x"}, `(user_id=7, Name="x")`},
		{"nested tags", nil, Args{Pos: []any{tagged{UserID: 7, Log: func() {}}}}, `({user_id=7, Name=""})`},
		{"unexported fields", nil, private{1, "a"}, `(n=1, s="a")`},
		{"embedded struct", nil, embeds{Base{3}, "n"}, `(Base={ID=3}, Name="n")`},
		{"blank field", nil, struct {
			A int
			_ int
		}{A: 1}, `(A=1)`},
		{"pointer followed", nil, Args{Pos: []any{&x}}, `(5)`},
		{"nil pointer", nil, Args{Pos: []any{(*int)(nil)}}, `(nil)`},
		{"interface field", nil, struct{ V any }{&point{1, 2}}, `(V={X=1, Y=2})`},
		{"nil interface field", nil, struct{ V any }{}, `(V=nil)`},
		{"shared pointer is no cycle", nil, func() any { p := &point{}; return []*point{p, p} }(), `([{X=0, Y=0}, {X=0, Y=0}])`},

		// Times, locations and TextMarshalers.
		{"time", nil, instant, `(t"2026-11-27T07:32:56.123456789Z")`},
		{"time in UTC", nil, instant.UTC(), `(t"2026-11-27T07:32:56.123456789Z")`},
		{"zero time", nil, time.Time{}, `(t"0001-01-01T00:00:00.000000000Z")`},
		{"time field", nil, struct{ At time.Time }{instant}, `(At=t"2026-11-27T07:32:56.123456789Z")`},
		{"time pointer", nil, &instant, `(t"2026-11-27T07:32:56.123456789Z")`},
		{"defined as time", nil, deadline(instant), `(t"2026-11-27T07:32:56.123456789Z")`},
		{"location", nil, time.UTC, `("UTC")`},
		{"value receiver", nil, color(1), `("green")`},
		{"pointer receiver", nil, pname{"Ada", "Lovelace"}, `("Ada Lovelace")`},
		{"pointer receiver by pointer", nil, &pname{"Ada", "Lovelace"}, `("Ada Lovelace")`},
		{"netip", nil, netip.MustParseAddr("10.0.0.1"), `("10.0.0.1")`},
		{"marshaler in map", nil, map[color]color{0: 2}, `({"red": "blue"})`},
		{"unexported specials", nil, hidden{
			when: instant, addr: netip.MustParseAddr("::1"), name: pname{"A", "B"}, any: color(2),
			m: map[string]time.Time{"k": instant},
		}, `(when=t"2026-11-27T07:32:56.123456789Z", addr="::1", name="A B", any="blue", m={"k": t"2026-11-27T07:32:56.123456789Z"})`},
		{"unexported specials in args", nil, Args{Pos: []any{hidden{name: pname{"A", "B"}}}},
			`({when=t"0001-01-01T00:00:00.000000000Z", addr="", name="A B", any=nil, m={}})`},
		{"unexported specials in map", nil, map[string]hidden{"h": {any: pname{"C", "D"}}},
			`({"h": {when=t"0001-01-01T00:00:00.000000000Z", addr="", name=" ", any="C D", m={}}})`},

		// Options.
		{"ignore name", &Options{Ignore: []string{"Y"}}, point{1, 2}, `(X=1)`},
		{"ignore tag name", &Options{Ignore: []string{"user_id"}}, tagged{UserID: 1}, `(Name="")`},
		{"ignore position of field", &Options{IgnorePositions: []int{0}}, point{1, 2}, `(Y=2)`},
		{"ignore position", &Options{IgnorePositions: []int{1}}, Args{Pos: []any{1, 2, 3}}, `(1, _, 3)`},
		{"ignore single", &Options{IgnorePositions: []int{0}}, 30, `(_)`},
		{"ignore named arg", &Options{Ignore: []string{"b"}}, Args{Named: map[string]any{"a": 1, "b": 2}}, `(a=1)`},
		{"ignore all", &Options{Ignore: []string{"X", "Y"}}, point{1, 2}, `()`},
		{"ignored func", &Options{Ignore: []string{"Callback"}}, withFunc{"n", func() {}}, `(Name="n")`},
		{"ignored func position", &Options{IgnorePositions: []int{0}}, Args{Pos: []any{func() {}}}, `(_)`},
		{"declaration order", nil, struct{ B, A int }{1, 2}, `(B=1, A=2)`},
		{"flat", &Options{Flat: true}, struct{ B, A int }{1, 2}, `(A=2, B=1)`},
		{"flat nested keeps order", &Options{Flat: true}, Args{Pos: []any{struct{ B, A int }{1, 2}}}, `({B=1, A=2})`},
		{"typed numbers", &Options{Typed: true},
			Args{Pos: []any{1, 1.0, uint(1), float32(0.1), int8(-1), uintptr(3), uint8(255), complex64(complex(1, 2)), "s", true, nil}},
			`(int(1), float64(1), uint(1), float32(0.1), int8(-1), uintptr(3), uint8(255), complex64(1+2i), "s", true, nil)`},
		{"typed special floats", &Options{Typed: true}, Args{Pos: []any{math.NaN(), math.Copysign(0, -1), float32(math.Inf(-1)), 1e21}},
			`(float64(NaN), float64(0), float32(-Inf), float64(1e+21))`},
		{"typed named float", &Options{Typed: true}, celsius(21.5), `(float64(21.5))`},
		{"typed time", &Options{Typed: true}, instant, `(time.Time(t"2026-11-27T07:32:56.123456789Z"))`},
		{"typed defined time", &Options{Typed: true}, deadline(instant), `(keymap.deadline(t"2026-11-27T07:32:56.123456789Z"))`},
		{"typed marshaler", &Options{Typed: true}, struct{ C color }{1}, `(C=keymap.color("green"))`},
		{"typed location", &Options{Typed: true}, time.UTC, `(time.Location("UTC"))`},
		{"typed struct", &Options{Typed: true}, point{1, 2}, `(X=int(1), Y=int(2))`},
		{"typed map", &Options{Typed: true}, map[uint8]float32{1: 0.5}, `({uint8(1): float32(0.5)})`},
		{"typed bytes", &Options{Typed: true}, []byte("x"), `(b"x")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := textOf(t, tc.opts, tc.args); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestMonotonicDropped checks that a time's monotonic clock reading and
// location do not change its key.
func TestMonotonicDropped(t *testing.T) {
	now := time.Now()
	if got, want := textOf(t, nil, now), textOf(t, nil, now.Round(0).In(time.FixedZone("X", -7200))); got != want {
		t.Errorf("time with monotonic reading %s, without %s", got, want)
	}
}

// TestAppendTextMatchesKey checks AppendText against Key for every kind, and
// that AppendText appends.
func TestAppendTextMatchesKey(t *testing.T) {
	for _, k := range allKeymaps(t) {
		for _, args := range []any{point{1, 2}, Args{Pos: []any{1, "a"}, Named: map[string]any{"m": map[int]int{1: 2}}}, 3.5} {
			key, err := k.Key(args)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			b, err := k.AppendText([]byte("prefix"), args)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			if string(b) != "prefix"+key.Text {
				t.Errorf("%s: AppendText %q, Key %q", k, b, key.Text)
			}
			if key != NewKey(key.Text) {
				t.Errorf("%s: Key %v, NewKey %v", k, key, NewKey(key.Text))
			}
		}
	}
}

// TestAppendTextError checks that AppendText leaves dst as it was on error.
func TestAppendTextError(t *testing.T) {
	for _, k := range allKeymaps(t) {
		b, err := k.AppendText([]byte("prefix"), Args{Pos: []any{1, map[string]any{"a": 1, "f": func() {}}}})
		if err == nil || string(b) != "prefix" {
			t.Errorf("%s: AppendText = %q, %v; want prefix and an error", k, b, err)
		}
	}
}

// allKeymaps returns one keymap of every kind, algorithm and encoding.
func allKeymaps(tb testing.TB) []*Keymap {
	tb.Helper()
	ks := []*Keymap{
		mustKeymap(tb)(NewString(nil)),
		mustKeymap(tb)(NewRaw(nil)),
		mustKeymap(tb)(NewEncoded(Binary, nil)),
		mustKeymap(tb)(NewEncoded(JSON, nil)),
	}
	for alg := range Algorithm(len(algorithmNames)) {
		ks = append(ks, mustKeymap(tb)(NewHash(alg, nil)))
	}
	ks = append(ks, mustKeymap(tb)(Chain(ks[3], ks[len(ks)-1])))
	return ks
}

package codec_test

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/codec"
)

func TestNames(t *testing.T) {
	for _, c := range []codec.Codec{codec.JSON, codec.Gob, codec.Raw} {
		got, err := codec.Parse(c.String())
		if err != nil || got != c {
			t.Errorf("Parse(%q) = %v, %v; want %v", c.String(), got, err, c)
		}
		text, err := c.MarshalText()
		if err != nil || string(text) != c.String() {
			t.Errorf("%v.MarshalText() = %q, %v", c, text, err)
		}
		var back codec.Codec
		if err := back.UnmarshalText(text); err != nil || back != c {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", text, back, err, c)
		}
		quoted, err := json.Marshal(c)
		if err != nil || string(quoted) != `"`+c.String()+`"` {
			t.Errorf("json.Marshal(%v) = %s, %v", c, quoted, err)
		}
		if err := json.Unmarshal(quoted, &back); err != nil || back != c {
			t.Errorf("json.Unmarshal(%s) = %v, %v; want %v", quoted, back, err, c)
		}
		if !c.Valid() {
			t.Errorf("%v.Valid() = false", c)
		}
		if c.Binary() != (c != codec.JSON) {
			t.Errorf("%v.Binary() = %v", c, c.Binary())
		}
	}
	var zero codec.Codec
	if zero != codec.JSON {
		t.Errorf("zero Codec is %v, want json", zero)
	}
	for _, name := range []string{"JSON", "", "pickle"} {
		if _, err := codec.Parse(name); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", name)
		}
		var c codec.Codec
		if err := c.UnmarshalText([]byte(name)); err == nil {
			t.Errorf("UnmarshalText(%q) succeeded, want an error", name)
		}
	}
	if s := codec.Codec(7).String(); s != "Codec(7)" {
		t.Errorf("Codec(7).String() = %q", s)
	}
	if codec.Codec(7).Valid() {
		t.Errorf("Codec(7).Valid() = true")
	}
	if _, err := codec.Codec(7).MarshalText(); err == nil {
		t.Errorf("Codec(7).MarshalText succeeded, want an error")
	}
}

// The numbers are part of the file formats of archive.File and archive.Dir.
func TestNumbers(t *testing.T) {
	if codec.JSON != 0 || codec.Gob != 1 || codec.Raw != 2 {
		t.Fatalf("JSON, Gob, Raw = %d, %d, %d; want 0, 1, 2", codec.JSON, codec.Gob, codec.Raw)
	}
}

type record struct {
	Name  string
	Tags  []string
	Count int
	Attrs map[string]float64
}

// roundTrip encodes v with Encode and Append and decodes both.
func roundTrip[V any](t *testing.T, c codec.Codec, v V) V {
	t.Helper()
	if err := codec.Check[V](c); err != nil {
		t.Fatalf("Check[%T](%v) = %v", v, c, err)
	}
	data, err := codec.Encode(c, v)
	if err != nil {
		t.Fatalf("Encode(%v, %#v): %v", c, v, err)
	}
	prefix := []byte("prefix")
	appended, err := codec.Append(prefix, c, v)
	if err != nil || !bytes.Equal(appended, append([]byte("prefix"), data...)) {
		t.Fatalf("Append(%v, %#v) = %q, %v; want prefix and %q", c, v, appended, err, data)
	}
	var got V
	if err := codec.Decode(c, data, &got); err != nil {
		t.Fatalf("Decode(%v, %q): %v", c, data, err)
	}
	return got
}

func TestRoundTrip(t *testing.T) {
	r := record{Name: "<b>fish & chips</b>", Tags: []string{"a>b"}, Count: -3, Attrs: map[string]float64{"pi": math.Pi}}
	for _, c := range []codec.Codec{codec.JSON, codec.Gob} {
		t.Run(c.String(), func(t *testing.T) {
			if got := roundTrip(t, c, r); !reflect.DeepEqual(got, r) {
				t.Errorf("record: got %#v, want %#v", got, r)
			}
			if got := roundTrip(t, c, "a < b && c > d"); got != "a < b && c > d" {
				t.Errorf("string: got %q", got)
			}
			if got := roundTrip(t, c, 42); got != 42 {
				t.Errorf("int: got %d", got)
			}
			if got := roundTrip(t, c, []byte{0, 1, 0xff}); !bytes.Equal(got, []byte{0, 1, 0xff}) {
				t.Errorf("[]byte: got %v", got)
			}
		})
	}
	t.Run("raw", func(t *testing.T) {
		for _, b := range [][]byte{[]byte("<p>&nbsp;</p>"), {0, 0xff}, {}} {
			if got := roundTrip(t, codec.Raw, b); got == nil || !bytes.Equal(got, b) {
				t.Errorf("got %#v, want %#v", got, b)
			}
		}
	})
}

// JSON is the same as encoding/json's, without HTML escaping and without a
// trailing newline, and decodes what json.Marshal wrote.
func TestJSON(t *testing.T) {
	r := record{Name: "<b>fish & chips</b> \u2028", Tags: []string{}}
	want := `{"Name":"<b>fish & chips</b> \u2028","Tags":[],"Count":0,"Attrs":null}`
	data, err := codec.Encode(codec.JSON, r)
	if err != nil || string(data) != want {
		t.Fatalf("Encode = %s, %v; want %s", data, err, want)
	}
	s, err := codec.JSONString(r)
	if err != nil || s != want {
		t.Fatalf("JSONString = %s, %v; want %s", s, err, want)
	}
	escaped, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(escaped), `\u003cb\u003e`) {
		t.Fatalf("json.Marshal = %s, %v; want <b> escaped", escaped, err)
	}
	var got record
	if err := codec.Decode(codec.JSON, escaped, &got); err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("Decode of json.Marshal's %s = %#v, %v", escaped, got, err)
	}
}

func TestJSONStringAllocs(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	v := record{Name: "x", Count: 1}
	codec.JSONString(v) // warm the pool
	if n := testing.AllocsPerRun(100, func() {
		if _, err := codec.JSONString(&v); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("JSONString allocates %v times, want 1", n)
	}
}

// raceEnabled reports whether the test runs with the race detector.
func raceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// Encode of Raw returns the value itself; Decode copies.
func TestRawShares(t *testing.T) {
	b := []byte("abc")
	data, err := codec.Encode(codec.Raw, b)
	if err != nil || &data[0] != &b[0] {
		t.Fatalf("Encode(Raw) = %q, %v; want b itself", data, err)
	}
	var got []byte
	if err := codec.Decode(codec.Raw, b, &got); err != nil || &got[0] == &b[0] {
		t.Fatalf("Decode(Raw) = %q, %v; want a copy", got, err)
	}
}

type shape interface{ Area() float64 }

type square struct{ Side float64 }

func (s square) Area() float64 { return s.Side * s.Side }

// Gob sends a value of an interface type as an interface, so it decodes
// into the same interface type.
func TestGobInterface(t *testing.T) {
	gob.Register(square{})
	var s shape = square{Side: 3}
	if got := roundTrip(t, codec.Gob, s); got != s {
		t.Fatalf("got %#v, want %#v", got, s)
	}
}

func TestErrors(t *testing.T) {
	if err := codec.Check[string](codec.Raw); err == nil || !strings.Contains(err.Error(), "raw stores []byte values, not string") {
		t.Errorf("Check[string](Raw) = %v", err)
	}
	if err := codec.Check[int](codec.Codec(9)); err == nil || !strings.HasPrefix(err.Error(), "codec: invalid codec Codec(9)") {
		t.Errorf("Check[int](Codec(9)) = %v", err)
	}
	dst := []byte("keep")
	for _, c := range []codec.Codec{codec.Raw, codec.Codec(9)} {
		if got, err := codec.Append(dst, c, "s"); err == nil || string(got) != "keep" {
			t.Errorf("Append(%v, string) = %q, %v; want dst and an error", c, got, err)
		}
		if _, err := codec.Encode(c, "s"); err == nil {
			t.Errorf("Encode(%v, string) succeeded", c)
		}
		var s string
		if err := codec.Decode(c, []byte("s"), &s); err == nil {
			t.Errorf("Decode(%v) into a string succeeded", c)
		}
	}
	if got, err := codec.Append(dst, codec.JSON, math.NaN()); err == nil || string(got) != "keep" {
		t.Errorf("Append(JSON, NaN) = %q, %v; want dst and an error", got, err)
	}
	if got, err := codec.Append(dst, codec.Gob, func() {}); err == nil || string(got) != "keep" {
		t.Errorf("Append(Gob, func) = %q, %v; want dst and an error", got, err)
	}
	var r record
	for _, c := range []codec.Codec{codec.JSON, codec.Gob} {
		if err := codec.Decode(c, []byte("\xff{garbage"), &r); err == nil {
			t.Errorf("Decode(%v) of garbage succeeded", c)
		}
	}
}

func BenchmarkJSONString(b *testing.B) {
	v := record{Name: "<b>fish & chips</b>", Tags: []string{"a", "b"}, Count: 7}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.JSONString(&v); err != nil {
			b.Fatal(err)
		}
	}
}

// Values a codec cannot encode fail with an error matching ErrEncode,
// whose text is that of the encoding package.
func TestErrEncode(t *testing.T) {
	values := map[string]any{"NaN": math.NaN(), "+Inf": math.Inf(1), "-Inf": math.Inf(-1), "chan": make(chan int)}
	for name, v := range values {
		_, err := codec.Encode(codec.JSON, v)
		if !errors.Is(err, codec.ErrEncode) || !strings.HasPrefix(err.Error(), "json: ") {
			t.Errorf("Encode(JSON, %s): %v, want a json error matching ErrEncode", name, err)
		}
		if _, err := codec.JSONString(v); !errors.Is(err, codec.ErrEncode) {
			t.Errorf("JSONString(%s): %v, want an error matching ErrEncode", name, err)
		}
	}
	if _, err := codec.Append(nil, codec.Gob, make(chan int)); !errors.Is(err, codec.ErrEncode) {
		t.Errorf("Append(Gob, chan): %v, want an error matching ErrEncode", err)
	}
	if b, err := codec.Encode(codec.Gob, math.NaN()); err != nil || len(b) == 0 {
		t.Errorf("Encode(Gob, NaN) = %d bytes, %v; want gob to encode NaN", len(b), err)
	}
}

package keymap

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

// fuzzCall is the argument struct of fuzzed calls.
type fuzzCall struct {
	S any
	I any
	F any
	B any
}

// fingerprint is what keys must tell apart: two fuzzed calls have equal
// keys under lossless keymaps iff their fingerprints are equal. It is built
// from the inputs, independently of the encoder.
type fingerprint struct {
	shape  uint8  // argument list shape
	bytes0 bool   // the first argument is bytes, not a string
	s      string // the first argument
	i      int64  // the value of the second argument
	f      uint64 // the bits of the value of the third argument, -0 and NaN normalized
	b      string // the fourth argument; nil is empty
	kinds  string // typed keymaps only: the kinds of the numbers
}

// fuzzArgs builds the arguments of a call from fuzz inputs. The bits of sel
// choose kinds and shapes that, by the documented equivalences, change the
// key only when typed (kinds) or always (shape, string or bytes).
func fuzzArgs(sel uint8, s string, i int64, f float64, b []byte, typed bool) (any, fingerprint) {
	fp := fingerprint{shape: sel >> 5 & 3, bytes0: sel&0x80 != 0, s: s, i: i, b: string(b)}

	var iv any = i
	switch sel & 3 {
	case 1:
		iv = int(i)
	case 2:
		if i >= 0 {
			iv = uint64(i)
		}
	case 3:
		if x := float64(i); math.Abs(x) <= 1<<53 && int64(x) == i {
			iv = x
		}
	}
	var fv any = f
	if sel&4 != 0 && (float64(float32(f)) == f || f != f) {
		fv = float32(f)
	}
	switch {
	case f != f:
		fp.f = 0x7FF8000000000000
	case f != 0:
		fp.f = math.Float64bits(f)
	}
	if typed {
		fp.kinds = reflect.TypeOf(iv).Kind().String() + "," + reflect.TypeOf(fv).Kind().String()
	}

	var bv any = b
	if sel&8 != 0 && len(b) == 0 {
		bv = []byte(nil)
	}
	var sv any = s
	if fp.bytes0 {
		sv = []byte(s)
	}
	if sel&16 != 0 {
		p := sv
		sv = &p
	}

	switch fp.shape {
	case 0:
		return Args{Pos: []any{sv, iv, fv, bv}}, fp
	case 1:
		return Args{Named: map[string]any{"S": sv, "I": iv, "F": fv, "B": bv}}, fp
	case 2:
		return fuzzCall{sv, iv, fv, bv}, fp
	}
	return []any{sv, iv, fv, bv}, fp
}

func addSeeds(f *testing.F) {
	f.Add(uint8(0), "a", int64(1), 1.0, []byte("x"), uint8(3), "a", int64(1), 1.0, []byte("x"))
	f.Add(uint8(4), "", int64(0), math.Copysign(0, -1), []byte{}, uint8(8), "", int64(0), 0.0, []byte(nil))
	f.Add(uint8(0x20), "a\xff\x00", int64(-1), math.NaN(), []byte{0xff}, uint8(0x40), "a\xff\x00", int64(-1), math.NaN(), []byte{0xff})
	f.Add(uint8(0x80), "b", int64(1<<53), 0.1, []byte("b"), uint8(0), "b", int64(1<<53), 0.1, []byte("b"))
	f.Add(uint8(0x62), "é, \"x\"", int64(math.MinInt64), math.Inf(1), []byte("(1)"), uint8(0x13), "é", int64(math.MaxInt64), math.Inf(-1), []byte(")"))
	f.Add(uint8(0x17), `", I=1`, int64(7), 2.5, []byte(`"`), uint8(0x77), `"`, int64(7), 2.5, []byte(`", I=1`))
}

// checkLossless checks determinism and injectivity of a lossless keymap on
// two fuzzed calls.
func checkLossless(t *testing.T, newKeymap func(*Options) (*Keymap, error),
	sel1 uint8, s1 string, i1 int64, f1 float64, b1 []byte,
	sel2 uint8, s2 string, i2 int64, f2 float64, b2 []byte) {
	for _, typed := range []bool{false, true} {
		opts := &Options{Typed: typed}
		k := mustKeymap(t)(newKeymap(opts))
		a1, fp1 := fuzzArgs(sel1, s1, i1, f1, b1, typed)
		a2, fp2 := fuzzArgs(sel2, s2, i2, f2, b2, typed)
		k1 := mustKey(t, k, a1)
		k2 := mustKey(t, k, a2)
		if again := mustKey(t, mustKeymap(t)(newKeymap(opts)), a1); again != k1 {
			t.Fatalf("%s: key of %#v changed from %q to %q", k, a1, k1.Text, again.Text)
		}
		if (k1 == k2) != (fp1 == fp2) {
			t.Fatalf("%s: keys %q and %q of %#v and %#v; want equal = %v", k, k1.Text, k2.Text, a1, a2, fp1 == fp2)
		}
		// The same call with other kinds and pointers has the same key
		// unless typed.
		a3, fp3 := fuzzArgs(sel1^0x1f, s1, i1, f1, b1, typed)
		if k3 := mustKey(t, k, a3); (k1 == k3) != (fp1 == fp3) {
			t.Fatalf("%s: keys %q and %q of %#v and %#v; want equal = %v", k, k1.Text, k3.Text, a1, a3, fp1 == fp3)
		}
	}
}

func mustKey(tb testing.TB, k *Keymap, args any) Key {
	tb.Helper()
	key, err := k.Key(args)
	if err != nil {
		tb.Fatalf("%s: Key(%#v): %v", k, args, err)
	}
	return key
}

func FuzzStringKey(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, sel1 uint8, s1 string, i1 int64, f1 float64, b1 []byte, sel2 uint8, s2 string, i2 int64, f2 float64, b2 []byte) {
		checkLossless(t, NewString, sel1, s1, i1, f1, b1, sel2, s2, i2, f2, b2)
		a, _ := fuzzArgs(sel1, s1, i1, f1, b1, false)
		if key := mustKey(t, mustKeymap(t)(NewString(nil)), a); !isValidUTF8(key.Text) {
			t.Fatalf("text %q is not valid UTF-8", key.Text)
		}
	})
}

func FuzzRawKey(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, sel1 uint8, s1 string, i1 int64, f1 float64, b1 []byte, sel2 uint8, s2 string, i2 int64, f2 float64, b2 []byte) {
		checkLossless(t, NewRaw, sel1, s1, i1, f1, b1, sel2, s2, i2, f2, b2)
		checkLossless(t, func(o *Options) (*Keymap, error) { return NewEncoded(Binary, o) }, sel1, s1, i1, f1, b1, sel2, s2, i2, f2, b2)

		// decode(encode(x)) == x, seen through the encoding: Args decode to
		// values that encode to the same bytes.
		for _, typed := range []bool{false, true} {
			k := mustKeymap(t)(NewRaw(&Options{Typed: typed}))
			a, fp := fuzzArgs(sel1, s1, i1, f1, b1, typed)
			if fp.shape == 2 {
				continue // a struct decodes to Named, which encodes sorted
			}
			key := mustKey(t, k, a)
			back, err := Decode([]byte(key.Text))
			if err != nil {
				t.Fatalf("Decode(%q): %v", key.Text, err)
			}
			if again := mustKey(t, k, back); again != key {
				t.Fatalf("%#v encodes to %q, decodes to %#v, which encodes to %q", a, key.Text, back, again.Text)
			}
		}
	})
}

func FuzzHashKey(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, sel1 uint8, s1 string, i1 int64, f1 float64, b1 []byte, sel2 uint8, s2 string, i2 int64, f2 float64, b2 []byte) {
		for alg := range Algorithm(len(algorithmNames)) {
			k := mustKeymap(t)(NewHash(alg, nil))
			a1, fp1 := fuzzArgs(sel1, s1, i1, f1, b1, false)
			a2, fp2 := fuzzArgs(sel2, s2, i2, f2, b2, false)
			k1, k2 := mustKey(t, k, a1), mustKey(t, k, a2)
			if again := mustKey(t, mustKeymap(t)(NewHash(alg, nil)), a1); again != k1 {
				t.Fatalf("%s: key changed from %s to %s", k, k1.Text, again.Text)
			}
			if fp1 == fp2 && k1 != k2 {
				t.Fatalf("%s: equal calls %#v and %#v have keys %s and %s", k, a1, a2, k1.Text, k2.Text)
			}
			if alg != FNV && alg != XXH3 && fp1 != fp2 && k1 == k2 {
				t.Fatalf("%s: collision of %#v and %#v", k, a1, a2)
			}
		}
	})
}

func FuzzJSONKey(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, sel1 uint8, s1 string, i1 int64, f1 float64, b1 []byte, sel2 uint8, s2 string, i2 int64, f2 float64, b2 []byte) {
		for _, typed := range []bool{false, true} {
			k := mustKeymap(t)(NewEncoded(JSON, &Options{Typed: typed}))
			a1, fp1 := fuzzArgs(sel1, s1, i1, f1, b1, typed)
			a2, fp2 := fuzzArgs(sel2, s2, i2, f2, b2, typed)
			k1, k2 := mustKey(t, k, a1), mustKey(t, k, a2)
			if !json.Valid([]byte(k1.Text)) {
				t.Fatalf("invalid JSON %s", k1.Text)
			}
			if fp1 == fp2 && k1 != k2 {
				t.Fatalf("equal calls %#v and %#v have keys %s and %s", a1, a2, k1.Text, k2.Text)
			}
		}
	})
}

// FuzzDecode checks that Decode never panics, and that what it accepts
// encodes without error.
func FuzzDecode(f *testing.F) {
	raw := mustKeymap(f)(NewRaw(&Options{Typed: true}))
	for _, args := range []any{
		point{1, 2}, Args{Pos: []any{"a", []byte{1}, 2.5, nil, true}, Named: map[string]any{"m": map[int][]any{1: {instant}}}},
		Args{Pos: []any{int8(1), uint16(2), float32(3), complex64(4), color(1)}},
	} {
		f.Add([]byte(mustKey(f, raw, args).Text))
	}
	f.Add([]byte("\x01\x01M\x02I\x02NI\x02N"))
	f.Fuzz(func(t *testing.T, data []byte) {
		args, err := Decode(data)
		if err != nil {
			return
		}
		if _, err := raw.Key(args); err != nil {
			t.Fatalf("Decode(%q) = %#v, which has no key: %v", data, args, err)
		}
	})
}

// FuzzRound checks that rounding moves a float by at most half a unit of
// the last kept digit (plus the float's own rounding) and is idempotent.
func FuzzRound(f *testing.F) {
	f.Add(2.675, int16(2))
	f.Add(1250.0, int16(-2))
	f.Add(-0.5, int16(0))
	f.Add(1e300, int16(-300))
	f.Fuzz(func(t *testing.T, x float64, tol int16) {
		if math.IsNaN(x) || math.IsInf(x, 0) || tol < -MaxTol || tol > MaxTol {
			return
		}
		e := encoder{tol: int(tol)}
		defer e.release()
		r := e.round(x)
		if math.IsInf(r, 0) {
			return // beyond the float64 range
		}
		// |r - x| <= 10^-tol / 2, with r's own error of half an ulp.
		unit := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(int(tol)))), nil))
		if tol < 0 {
			unit.Inv(unit)
		}
		diff := new(big.Rat).Sub(new(big.Rat).SetFloat64(r), new(big.Rat).SetFloat64(x))
		limit := new(big.Rat).Mul(unit, big.NewRat(1, 2))
		limit.Add(limit, new(big.Rat).SetFloat64(math.Abs(math.Nextafter(r, math.Inf(1))-r)))
		if diff.Abs(diff).Cmp(limit) > 0 {
			t.Fatalf("round(%v, %d) = %v, too far", x, tol, r)
		}
		if again := e.round(r); again != r {
			t.Fatalf("round(%v, %d) = %v, but round(%v, %d) = %v", x, tol, r, r, tol, again)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func isValidUTF8(s string) bool {
	return strings.ToValidUTF8(s, "\uFFFD") == s && !bytes.ContainsRune([]byte(s), 0)
}

// genValue builds a value, nested up to depth, from the bytes of data, and
// returns the bytes it did not use.
func genValue(data []byte, depth int) (any, []byte) {
	if len(data) == 0 {
		return nil, nil
	}
	c, data := data[0], data[1:]
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	floats := []float64{0, math.Copysign(0, -1), 1, 1.5, 0.1, -2, math.NaN(), math.Inf(1), 1e21, 1 << 63}
	kind := c % 14
	if depth == 0 && kind >= 7 {
		kind %= 7
	}
	switch kind {
	case 0:
		return nil, data
	case 1:
		return next()%2 == 0, data
	case 2:
		return int8(next()) % 4, data
	case 3:
		return floats[int(next())%len(floats)], data
	case 4:
		return uint64(next() % 4), data
	case 5:
		return strings.Repeat("a", int(next()%3)), data
	case 6:
		return bytes.Repeat([]byte("a"), int(next()%3)), data
	case 7:
		l := make([]any, next()%3)
		for i := range l {
			l[i], data = genValue(data, depth-1)
		}
		return l, data
	case 8:
		m := make(map[any]any)
		for range next() % 3 {
			var k, v any
			k, data = genValue(data, 0) // scalars are comparable
			if _, isBytes := k.([]byte); isBytes {
				k = string(k.([]byte))
			}
			v, data = genValue(data, depth-1)
			m[k] = v
		}
		return m, data
	case 9:
		return point{int(next() % 2), int(next() % 2)}, data
	case 10:
		v, rest := genValue(data, depth-1)
		return &v, rest
	case 11:
		return float32(floats[int(next())%len(floats)]), data
	case 12:
		return struct{ A any }{}, data
	}
	return color(next() % 2), data
}

// FuzzEquivalence checks that the canonical text and the binary encoding
// agree on which nested values are equal, typed or not.
func FuzzEquivalence(f *testing.F) {
	f.Add([]byte{7, 3, 2, 1, 3, 3, 5, 1}, []byte{7, 3, 4, 1, 11, 3, 5, 1})
	f.Add([]byte{8, 2, 3, 6, 5, 1, 3, 6, 5, 2}, []byte{8, 2, 3, 6, 5, 2, 3, 6, 5, 1})
	f.Add([]byte{10, 7, 2, 9, 1, 0, 12}, []byte{7, 2, 9, 1, 0, 12})
	f.Add([]byte{8, 0}, []byte{12})
	f.Add([]byte{5, 0}, []byte{6, 0})
	f.Fuzz(func(t *testing.T, data1, data2 []byte) {
		a, _ := genValue(data1, 4)
		b, _ := genValue(data2, 4)
		for _, typed := range []bool{false, true} {
			opts := &Options{Typed: typed}
			s, r := mustKeymap(t)(NewString(opts)), mustKeymap(t)(NewRaw(opts))
			sa, sb := mustKey(t, s, Args{Pos: []any{a}}), mustKey(t, s, Args{Pos: []any{b}})
			ra, rb := mustKey(t, r, Args{Pos: []any{a}}), mustKey(t, r, Args{Pos: []any{b}})
			if (sa == sb) != (ra == rb) {
				t.Fatalf("typed=%v: %#v and %#v: texts %s and %s, binary equal %v", typed, a, b, sa.Text, sb.Text, ra == rb)
			}
			if again := mustKey(t, s, Args{Pos: []any{a}}); again != sa {
				t.Fatalf("key of %#v changed from %s to %s", a, sa.Text, again.Text)
			}
		}
	})
}

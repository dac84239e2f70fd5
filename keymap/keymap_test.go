package keymap

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"tol too large", Options{Round: Simple, Tol: 309}},
		{"tol too small", Options{Tol: -309}},
		{"round mode", Options{Round: Deep + 1}},
		{"negative position", Options{IgnorePositions: []int{1, -1}}},
		{"invalid name", Options{Ignore: []string{"a b"}}},
		{"empty name", Options{Ignore: []string{""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, newKeymap := range []func(*Options) (*Keymap, error){
				NewString, NewRaw,
				func(o *Options) (*Keymap, error) { return NewHash(MD5, o) },
				func(o *Options) (*Keymap, error) { return NewEncoded(JSON, o) },
			} {
				if k, err := newKeymap(&tc.opts); !errors.Is(err, ErrInvalidOptions) {
					t.Errorf("got %v, %v; want ErrInvalidOptions", k, err)
				}
			}
		})
	}
	if _, err := NewHash(XXH3+1, nil); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("NewHash(XXH3+1): %v", err)
	}
	if _, err := NewEncoded(JSON+1, nil); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("NewEncoded(JSON+1): %v", err)
	}
	for _, tol := range []int{-308, 0, 308} {
		if _, err := NewString(&Options{Round: Deep, Tol: tol}); err != nil {
			t.Errorf("tol %d: %v", tol, err)
		}
	}
}

func TestOptionsNotModified(t *testing.T) {
	opts := &Options{Ignore: []string{"b", "a", "b"}, IgnorePositions: []int{3, 1, 3}}
	k := mustKeymap(t)(NewString(opts))
	if !reflect.DeepEqual(opts, &Options{Ignore: []string{"b", "a", "b"}, IgnorePositions: []int{3, 1, 3}}) {
		t.Errorf("options changed to %+v", opts)
	}
	names, positions := k.Ignored()
	if !slices.Equal(names, []string{"a", "b"}) || !slices.Equal(positions, []int{1, 3}) {
		t.Errorf("Ignored() = %v, %v", names, positions)
	}
	names[0] = "changed"
	if again, _ := k.Ignored(); again[0] != "a" {
		t.Errorf("Ignored returned the keymap's own slice")
	}
}

func TestKeymapString(t *testing.T) {
	tests := []struct {
		k    func() (*Keymap, error)
		want string
	}{
		{func() (*Keymap, error) { return NewString(nil) }, "string"},
		{func() (*Keymap, error) { return NewRaw(&Options{}) }, "raw"},
		{func() (*Keymap, error) { return NewHash(MD5, nil) }, "hash(md5)"},
		{func() (*Keymap, error) { return NewHash(SHA256, &Options{Typed: true}) }, "hash(sha256) typed"},
		{func() (*Keymap, error) { return NewEncoded(Binary, nil) }, "encoded(binary)"},
		{func() (*Keymap, error) { return NewEncoded(JSON, &Options{Flat: true}) }, "encoded(json) flat"},
		{func() (*Keymap, error) {
			return NewString(&Options{Typed: true, Flat: true, Round: Deep, Tol: 2, Ignore: []string{"Log"}, IgnorePositions: []int{1}})
		}, "string typed flat round=deep/2 ignore=[Log #1]"},
		{func() (*Keymap, error) { return NewString(&Options{Round: Simple, Tol: -2}) }, "string round=simple/-2"},
		{func() (*Keymap, error) { return NewString(&Options{Tol: 5}) }, "string"},
		{func() (*Keymap, error) { return NewString(&Options{IgnorePositions: []int{2, 0}}) }, "string ignore=[#0 #2]"},
		{func() (*Keymap, error) {
			json, _ := NewEncoded(JSON, nil)
			sha, _ := NewHash(SHA256, nil)
			return Chain(json, sha)
		}, "encoded(json)+hash(sha256)"},
	}
	for _, tc := range tests {
		k := mustKeymap(t)(tc.k())
		if got := k.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestEnums(t *testing.T) {
	for a := range Algorithm(len(algorithmNames)) {
		if got, err := ParseAlgorithm(a.String()); got != a || err != nil {
			t.Errorf("ParseAlgorithm(%q) = %v, %v", a, got, err)
		}
	}
	for e := range Encoding(len(encodingNames)) {
		if got, err := ParseEncoding(e.String()); got != e || err != nil {
			t.Errorf("ParseEncoding(%q) = %v, %v", e, got, err)
		}
	}
	for m := range RoundMode(len(roundModeNames)) {
		if got, err := ParseRoundMode(m.String()); got != m || err != nil {
			t.Errorf("ParseRoundMode(%q) = %v, %v", m, got, err)
		}
	}
	for _, bad := range []error{
		func() error { _, err := ParseAlgorithm("crc32"); return err }(),
		func() error { _, err := ParseEncoding("gob"); return err }(),
		func() error { _, err := ParseRoundMode("up"); return err }(),
	} {
		if !errors.Is(bad, ErrInvalidOptions) {
			t.Errorf("parse error %v, want ErrInvalidOptions", bad)
		}
	}
	for _, s := range []string{Algorithm(9).String(), Encoding(9).String(), RoundMode(9).String(), Kind(9).String()} {
		if !strings.HasSuffix(s, "(9)") {
			t.Errorf("String of an unknown value: %q", s)
		}
	}
	if KindString.String() != "string" || KindRaw.String() != "raw" || KindHash.String() != "hash" || KindEncoded.String() != "encoded" {
		t.Errorf("Kind strings")
	}
}

func TestKind(t *testing.T) {
	s := mustKeymap(t)(NewString(nil))
	h := mustKeymap(t)(NewHash(FNV, nil))
	for k, want := range map[*Keymap]Kind{
		s:                                      KindString,
		mustKeymap(t)(NewRaw(nil)):             KindRaw,
		h:                                      KindHash,
		mustKeymap(t)(NewEncoded(Binary, nil)): KindEncoded,
		mustKeymap(t)(Chain(s, h)):             KindHash,
		mustKeymap(t)(Chain(h, s)):             KindString,
	} {
		if got := k.Kind(); got != want {
			t.Errorf("%s: Kind() = %v, want %v", k, got, want)
		}
	}
}

func TestChain(t *testing.T) {
	json := mustKeymap(t)(NewEncoded(JSON, &Options{Ignore: []string{"Y"}}))
	sha := mustKeymap(t)(NewHash(SHA256, nil))
	str := mustKeymap(t)(NewString(nil))
	args := point{1, 2}
	chain := mustKeymap(t)(Chain(json, sha))
	inner, err := json.Key(args)
	if err != nil {
		t.Fatal(err)
	}
	want, err := sha.Key(inner.Text)
	if err != nil {
		t.Fatal(err)
	}
	got, err := chain.Key(args)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Chain(json, sha).Key = %v, want sha.Key(json.Key) = %v", got, want)
	}

	// Chains of chains apply every stage in order.
	long := mustKeymap(t)(Chain(chain, str))
	if got, err := long.Key(args); err != nil || got.Text != `("`+want.Text+`")` {
		t.Errorf("Chain(chain, string).Key = %q, %v", got.Text, err)
	}
	if long.String() != "encoded(json) ignore=[Y]+hash(sha256)+string" {
		t.Errorf("String() = %q", long)
	}
	if names, _ := long.Ignored(); !slices.Equal(names, []string{"Y"}) {
		t.Errorf("Ignored() = %v", names)
	}
	if _, err := long.Key(func() {}); err == nil {
		t.Errorf("no error from the first stage")
	}
	if _, err := Chain(nil, sha); err == nil {
		t.Errorf("Chain(nil, sha) succeeded")
	}
}

// TestConcurrentUse checks that one Keymap serves many goroutines (run with
// -race).
func TestConcurrentUse(t *testing.T) {
	type call struct {
		A int
		B string
		M map[string][]float64
	}
	for _, k := range allKeymapsWith(t, &Options{Round: Deep, Tol: 1, Flat: true}) {
		want, err := k.Key(call{1, "x", map[string][]float64{"a": {1.25}}})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				for range 100 {
					got, err := k.Key(call{1, "x", map[string][]float64{"a": {1.25}}})
					if err == nil && got != want {
						err = errors.New("key changed: " + got.Text)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("%s: %v", k, err)
		}
	}
}

// TestAppendTextAllocs checks that the hot path allocates nothing: AppendText
// of plain structs (by value or by pointer) and positional scalars into a
// buffer with room.
func TestAppendTextAllocs(t *testing.T) {
	small := smallArgs{42, "hello"}
	for _, k := range []*Keymap{
		mustKeymap(t)(NewString(nil)),
		mustKeymap(t)(NewRaw(nil)),
		mustKeymap(t)(NewEncoded(JSON, &Options{Typed: true, Flat: true})),
	} {
		for name, args := range map[string]any{
			"struct":     small,
			"pointer":    &small,
			"positional": Args{Pos: []any{1, "a", 2.5, true}},
			"nested":     struct{ P point }{point{1, 2}},
		} {
			buf := make([]byte, 0, 256)
			if allocs := testing.AllocsPerRun(100, func() {
				buf, _ = k.AppendText(buf[:0], args)
			}); allocs != 0 {
				t.Errorf("%s, %s: %v allocations", k, name, allocs)
			}
		}
	}
}

// TestMapOrder checks that a map's key does not depend on Go's random
// iteration order.
func TestMapOrder(t *testing.T) {
	m := make(map[any]any)
	for i := range 200 {
		m[i] = i
		m[float64(i)] = -i // same key text as i
		m[string(rune('a'+i%26))+strconv.Itoa(i)] = []int{i}
	}
	for _, k := range allKeymaps(t) {
		first := mustKey(t, k, m)
		for range 20 {
			if again := mustKey(t, k, m); again != first {
				t.Fatalf("%s: map key changed", k)
			}
		}
	}
}

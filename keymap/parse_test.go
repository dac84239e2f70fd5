package keymap_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/keymap"
)

// Parse reads back what Keymap.String writes, and the keymap it returns
// makes the same keys.
func TestParse(t *testing.T) {
	must := func(k *keymap.Keymap, err error) *keymap.Keymap {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	str := func(o *keymap.Options) *keymap.Keymap { return must(keymap.NewString(o)) }
	hash := func(a keymap.Algorithm, o *keymap.Options) *keymap.Keymap { return must(keymap.NewHash(a, o)) }
	enc := func(e keymap.Encoding, o *keymap.Options) *keymap.Keymap { return must(keymap.NewEncoded(e, o)) }
	all := &keymap.Options{Typed: true, Flat: true, Round: keymap.Deep, Tol: -2, Ignore: []string{"Log", "x-y"}, IgnorePositions: []int{1, 3}}
	keymaps := []*keymap.Keymap{
		str(nil),
		str(all),
		str(&keymap.Options{Round: keymap.Simple, Tol: 3}),
		str(&keymap.Options{IgnorePositions: []int{0}}),
		must(keymap.NewRaw(&keymap.Options{Flat: true})),
		hash(keymap.MD5, nil),
		hash(keymap.XXH3, &keymap.Options{Typed: true}),
		enc(keymap.JSON, nil),
		enc(keymap.Binary, all),
		must(keymap.Chain(enc(keymap.JSON, &keymap.Options{Ignore: []string{"Log"}}), hash(keymap.SHA256, nil))),
	}
	type args struct {
		N   float64
		Log string
		S   []float64
	}
	call := args{N: 1234.5678, Log: "x", S: []float64{1.25}}
	for _, k := range keymaps {
		t.Run(k.String(), func(t *testing.T) {
			p, err := keymap.Parse(k.String())
			if err != nil {
				t.Fatal(err)
			}
			if p.String() != k.String() {
				t.Fatalf("Parse(%q).String() = %q", k, p)
			}
			want, err1 := k.Key(call)
			got, err2 := p.Key(call)
			if err1 != nil || err2 != nil || got != want {
				t.Fatalf("keys %q, %v; parsed keymap's %q, %v", want, err1, got, err2)
			}
			if err := p.CheckText(got.Text); err != nil {
				t.Fatalf("CheckText of a key it made: %v", err)
			}
		})
	}
	for _, s := range []string{"", "strings", "hash(crc32)", "encoded(xml)", "string loud", "string round=deep",
		"string ignore=[Log", "string flat typed", "string typed typed", "string ignore=[b a]", "string+"} {
		if k, err := keymap.Parse(s); !errors.Is(err, keymap.ErrInvalidOptions) {
			t.Errorf("Parse(%q) = %v, %v; want an error wrapping ErrInvalidOptions", s, k, err)
		}
	}
}

// CheckText tells key texts from text that no call could have as its key.
func TestCheckText(t *testing.T) {
	tests := []struct {
		keymap   string
		good     []string
		bad      []string
		wantHint string
	}{
		{"string", []string{"(n=42)", "()", `("a", 2)`}, []string{"n=42", "(n=42", "", "\xff()"}, "in parentheses, such as (n=30)"},
		{"hash(md5)", []string{strings.Repeat("0a", 16)}, []string{"(n=42)", strings.Repeat("0A", 16), strings.Repeat("0a", 17)}, "32 lowercase hex digits, a md5 digest"},
		{"hash(fnv)", []string{"0123456789abcdef"}, []string{"0123456789abcde"}, "16 lowercase hex digits"},
		{"encoded(json)", []string{`{"n":42}`, "[1]"}, []string{"42", `{"n":`, "(n=42)"}, "a JSON array or object"},
		{"raw", []string{"\x01\x00"}, []string{"(n=42)", "\x02\x00"}, "a binary key of version 1"},
		{"encoded(json)+hash(sha256)", []string{strings.Repeat("f", 64)}, []string{`{"n":42}`}, "64 lowercase hex digits, a sha256 digest"},
	}
	for _, tc := range tests {
		k, err := keymap.Parse(tc.keymap)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range tc.good {
			if err := k.CheckText(text); err != nil {
				t.Errorf("%s: CheckText(%q) = %v, want nil", tc.keymap, text, err)
			}
		}
		for _, text := range tc.bad {
			err := k.CheckText(text)
			if err == nil || !strings.Contains(err.Error(), tc.wantHint) || !strings.Contains(err.Error(), "keymap "+tc.keymap) {
				t.Errorf("%s: CheckText(%q) = %v, want an error naming the keymap and holding %q", tc.keymap, text, err, tc.wantHint)
			}
		}
	}
}

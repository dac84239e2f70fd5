package sqltable

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// The args column holds the arguments' JSON as it is, byte for byte,
// unless it has U+0000 or looks like the wrapper; then the wrapper, valid
// JSON without U+0000. Decoding gives the JSON back exactly.
func TestEncodeArgs(t *testing.T) {
	tests := []struct {
		args    string
		wrapped bool
	}{
		{`{"n":10}`, false},
		{`[1,"a",null]`, false},
		{`["a\\u0000b"]`, false}, // a backslash, then u0000: no U+0000
		{`["\\\\"]`, false},
		{`{"klepto:json":1}`, false},
		{`{"klepto:json":"x","y":1}`, false},
		{`["a\u0000b"]`, true},
		{`{"s":"\\\u0000"}`, true},
		{`"\u0000"`, true},
		{`{"klepto:json":"x"}`, true},
		{`{ "klepto:json" : "[1]" }`, true},
	}
	for _, tc := range tests {
		stored := encodeArgs(tc.args)
		if wrapped := stored != tc.args; wrapped != tc.wrapped {
			t.Errorf("encodeArgs(%s) = %s, wrapped %v, want %v", tc.args, stored, wrapped, tc.wrapped)
		}
		if !json.Valid([]byte(stored)) || hasNUL(stored) {
			t.Errorf("encodeArgs(%s) = %s: not valid JSON, or has U+0000", tc.args, stored)
		}
		if got := decodeArgs(stored); got != tc.args {
			t.Errorf("decodeArgs(encodeArgs(%s)) = %s", tc.args, got)
		}
	}
	if got := encodeArgs(`["a\u0000<b>"]`); got != `{"klepto:json":"[\"a\\u0000<b>\"]"}` {
		t.Errorf("the wrapper of U+0000 is %s", got)
	}
}

func FuzzEncodeArgs(f *testing.F) {
	for _, s := range []string{`{"n":10}`, `["a\u0000b"]`, `{"klepto:json":"x"}`, `"\\u0000"`, "[\"\xeb\\u0000\"]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, args string) {
		if !json.Valid([]byte(args)) || !utf8.ValidString(args) {
			return // PutRows refuses it, and keymap never writes it
		}
		stored := encodeArgs(args)
		if !json.Valid([]byte(stored)) || hasNUL(stored) || decodeArgs(stored) != args {
			t.Fatalf("encodeArgs(%q) = %q, decoded %q", args, stored, decodeArgs(stored))
		}
	})
}

func TestHasNUL(t *testing.T) {
	for doc, want := range map[string]bool{
		`"a"`:                 false,
		`"\u0000"`:            true,
		`{"k":"x\u0000y"}`:    true,
		`"\\u0000"`:           false, // an escaped backslash, then the text u0000
		`"\\\u0000"`:          true,
		`"\\\\u0000"`:         false,
		`"\u00001"`:           true,
		`"\u0001\\" "\u0000"`: true,
		`\`:                   false,
		``:                    false,
	} {
		if got := hasNUL(doc); got != want {
			t.Errorf("hasNUL(%s) = %v, want %v", doc, got, want)
		}
	}
}

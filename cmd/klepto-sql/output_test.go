package main

import (
	"flag"
	"reflect"
	"testing"

	"github.com/klepto-sql/klepto/codec"
)

func TestPreview(t *testing.T) {
	tests := []struct {
		value string
		codec codec.Codec
		want  string
	}{
		{`{"a": [1, 2]}`, codec.JSON, `{"a":[1,2]}`},
		{`"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"`, codec.JSON,
			`"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdef…`}, // 60 characters
		{"plain text", codec.Raw, "plain text"},
		{"two\nlines", codec.Raw, "0x74776f0a6c696e6573"},
		{"\x00\xff", codec.Raw, "0x00ff"},
		{"\x0f\xff\x81\x03\x01\x01\x05point", codec.Gob, "0x0fff8103010105706f696e74"},
	}
	for _, tc := range tests {
		if got := preview([]byte(tc.value), tc.codec); got != tc.want {
			t.Errorf("preview(%q, %v) = %q, want %q", tc.value, tc.codec, got, tc.want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args []string
		pos  []string
		yes  bool
		n    int
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, false, 0},
		{[]string{"a", "-yes", "b", "-n", "3"}, []string{"a", "b"}, true, 3},
		{[]string{"-n=2", "a", "--", "-yes", "-n"}, []string{"a", "-yes", "-n"}, false, 2},
		{[]string{"a", "-", "b"}, []string{"a", "-", "b"}, false, 0},
		{nil, nil, false, 0},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		yes := fs.Bool("yes", false, "")
		n := fs.Int("n", 0, "")
		pos, err := parseArgs(fs, tc.args)
		if err != nil || !reflect.DeepEqual(pos, tc.pos) || *yes != tc.yes || *n != tc.n {
			t.Errorf("parseArgs(%q) = %q, %v, -yes %v, -n %d; want %q, -yes %v, -n %d", tc.args, pos, err, *yes, *n, tc.pos, tc.yes, tc.n)
		}
	}
}

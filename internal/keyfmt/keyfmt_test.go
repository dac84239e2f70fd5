package keyfmt_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/internal/keyfmt"
	"github.com/klepto-sql/klepto/keymap"
)

func TestText(t *testing.T) {
	huge := "(s='" + strings.Repeat("a", 16<<20) + "')"
	sum := sha256.Sum256([]byte(huge))
	tests := []struct {
		name, text, want string
	}{
		{"short", "(n=3)", `"(n=3)"`},
		{"empty", "", `""`},
		{"exactly the prefix", strings.Repeat("x", keyfmt.Prefix), `"` + strings.Repeat("x", keyfmt.Prefix) + `"`},
		{"huge", huge, `"(s='` + strings.Repeat("a", keyfmt.Prefix-4) + `"… (16777222 bytes, sha256 ` + hex.EncodeToString(sum[:8]) + ")"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := keyfmt.Text(tc.text); got != tc.want {
				t.Errorf("Text = %.200s, want %.200s", got, tc.want)
			}
			if got := keyfmt.Key(keymap.NewKey(tc.text)); got != tc.want {
				t.Errorf("Key = %.200s, want %.200s", got, tc.want)
			}
		})
	}
}

// A long key is never cut inside a character, and a binary one is cut at
// the prefix.
func TestTextCutsAtCharacters(t *testing.T) {
	text := strings.Repeat("a", keyfmt.Prefix-1) + "é" + strings.Repeat("b", 10) // é straddles the cut
	got := keyfmt.Text(text)
	if want := `"` + strings.Repeat("a", keyfmt.Prefix-1) + `"…`; !strings.HasPrefix(got, want) {
		t.Errorf("Text = %s, want it to start with %s", got, want)
	}
	bin := strings.Repeat("\xff", 100)
	got = keyfmt.Text(bin)
	if want := `"` + strings.Repeat(`\xff`, keyfmt.Prefix) + `"…`; !strings.HasPrefix(got, want) {
		t.Errorf("Text = %s, want it to start with %s", got, want)
	}
}

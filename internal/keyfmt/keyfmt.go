package keyfmt

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"unicode/utf8"

	"github.com/klepto-sql/klepto/keymap"
)

// Prefix is how many bytes of a key's text an error shows at most.
const Prefix = 64

// Key returns k for an error message, as [Text] does, using k.Hash.
func Key(k keymap.Key) string {
	if len(k.Text) <= Prefix {
		return strconv.Quote(k.Text)
	}
	return long(k.Text, k.Hash)
}

// Text returns the key whose text is text for an error message: the text
// quoted in Go syntax when it is at most [Prefix] bytes long; otherwise
// its first Prefix bytes (cut at a character boundary) quoted, an
// ellipsis, and its length and the first 8 bytes of its SHA-256 hash in
// hex, as in
//
//	"(n=1, s='aaaa"… (16777216 bytes, sha256 3f9a1c0b2e4d5f60)
func Text(text string) string {
	if len(text) <= Prefix {
		return strconv.Quote(text)
	}
	return long(text, sha256.Sum256([]byte(text)))
}

func long(text string, hash [32]byte) string {
	cut := Prefix
	// Back up to the start of a character, unless the text is not UTF-8
	// there (a binary key), where any byte is as good as another.
	for i := 0; i < utf8.UTFMax && cut-i > 0; i++ {
		if utf8.RuneStart(text[cut-i]) {
			if r, _ := utf8.DecodeRuneInString(text[cut-i:]); r != utf8.RuneError {
				cut -= i
			}
			break
		}
	}
	b := make([]byte, 0, 2*Prefix+48)
	b = strconv.AppendQuote(b, text[:cut])
	b = append(b, "… ("...)
	b = strconv.AppendInt(b, int64(len(text)), 10)
	b = append(b, " bytes, sha256 "...)
	b = hex.AppendEncode(b, hash[:8])
	b = append(b, ')')
	return string(b)
}

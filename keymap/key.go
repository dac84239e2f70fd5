package keymap

import (
	"crypto/sha256"
	"unsafe"
)

// Version is the version of the canonical encoding described in the package
// documentation. It changes only when the bytes of some key change; archives
// record it beside [Keymap.String] to refuse keys made by another version.
const Version = 1

// MaxDepth is how deeply values may nest: a value that needs more than
// MaxDepth nested pointers, interfaces, slices, arrays, maps and structs to
// reach one of its parts has no key, and [Keymap.Key] returns [ErrTooDeep].
const MaxDepth = 10000

// Key is the key of one call: the text a [Keymap] made of the call's
// arguments and the SHA-256 digest of that text. Key values are comparable
// and safe to copy and to use concurrently.
type Key struct {
	// Text is the keymap's output. It is valid UTF-8 for the String, Hash
	// and Encoded(JSON) keymaps, and binary for Raw and Encoded(Binary).
	Text string
	// Hash is sha256(Text), whatever the keymap: a fixed-size primary key
	// for SQL tables.
	Hash [32]byte
}

// NewKey returns the Key whose text is text. Archives use it to rebuild keys
// they read back.
func NewKey(text string) Key {
	return Key{Text: text, Hash: sha256.Sum256(unsafe.Slice(unsafe.StringData(text), len(text)))}
}

// String returns k.Text.
func (k Key) String() string { return k.Text }

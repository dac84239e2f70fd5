// Package keyfmt formats keys for error messages: a short key in full, a
// long one cut to its first [Prefix] bytes and followed by its length and
// the start of its SHA-256 hash, so that an error stays small, keeps most
// of the arguments out of logs, and still names the key (the hash is the
// key_hash column of the SQL tables and the name of a Dir's entry file).
//
// Its functions are safe for concurrent use.
package keyfmt

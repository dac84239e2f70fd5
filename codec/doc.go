// Package codec holds the value codecs of klepto-sql's archives, and the
// one implementation of each. A [Codec] names how an archive encodes its
// values: [JSON] (the default), [Gob] or [Raw]. [Encode], [Append] and
// [Decode] encode and decode a value with a codec, and [Check] tells whether
// values of a type can use it; [Parse] and the text methods read and write a
// codec's name, as catalogs and command-line flags store it.
//
// Every archive uses this package: archive.File and archive.Dir, and
// sqltable.Table (and so sqlarchive). JSON is the same everywhere: encoded
// by encoding/json without HTML escaping, so <, > and & stay readable in
// files and SQL clients, and with no trailing newline. [JSONString] returns
// it as a string with one allocation, the bind argument of JSON columns.
//
// # Values a codec cannot encode
//
// JSON has no NaN and no infinities, and neither codec encodes channels or
// functions. Encoding such a value fails, the same way every time, with an
// error matching [ErrEncode]: archives refuse to store it, and a memo of
// package cache keeps it out of memory too, so that every call that
// returns it runs the function again and returns the same error (or, in a
// Safe memo, counts it). Choose [Gob] to store NaN and infinite floats.
//
// keymap.JSON and keymap.Binary are not codecs: they name encodings of
// keys, which keymap owns, while this package encodes values.
//
// The package imports only the standard library. Its functions are safe for
// concurrent use.
package codec

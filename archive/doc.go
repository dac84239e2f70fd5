// Package archive holds the archives that need no database: [Dict], a map
// in memory, and [Null], which stores nothing; [File], every entry in one
// crash-safe log file ([OpenFile]); and [Dir], one file per entry in a
// directory ([OpenDir]). All satisfy [cache.Archive], so code can switch
// between them and the SQL archives (package sqltable) without change.
//
// File and Dir encode values with the codecs of package
// [github.com/klepto-sql/klepto/codec] (JSON by default), make every write
// durable before it returns, and may be shared by many processes: File
// locks a file beside its log for each write, and Dir renames each entry
// file into place. Damaged data is reported as a [*CorruptError]
// naming the file; the other entries stay readable.
//
// Unlike klepto's file_archive, a File never rereads or rewrites the whole
// file per operation: it appends records and reads only what other
// processes appended. Unlike klepto's dir_archive, a Dir names entry files
// from the key's hash, never from the key's text, so every key is a valid
// file name on every system and the keys 5 and "5" never collide.
//
// Errors of an operation on a key name the key once (a key longer than 64
// bytes by its first 64 bytes, its length and the start of its SHA-256), and
// the file at fault, if any, through the operating system's error or this
// package's own, as in `archive: get "(n=3)": lock /var/cache/memo.klepto: context canceled`
// or `archive: put "(n=3)": encode the value: json: unsupported type: chan int`,
// so that a memo over the archive adds only its operation; the rule is
// written in the Errors section of package
// [github.com/klepto-sql/klepto/sqltable]. A [*CorruptError] names the
// file and the damage. Match [ErrClosed], [ErrInvalidOptions] and
// [ErrInvalidPath] with errors.Is.
//
// Every archive in klepto-sql passes the conformance suite in
// [github.com/klepto-sql/klepto/archive/archivetest].
//
// All archives here are safe for concurrent use.
package archive

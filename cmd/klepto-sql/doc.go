// Klepto-sql manages klepto archives, the tables of cached results that
// package sqlarchive keeps in SQLite, PostgreSQL and MySQL/MariaDB
// databases, and the schema they live in.
//
// Usage:
//
//	klepto-sql [-db DSN] COMMAND [flags] [arguments]
//
// The commands:
//
//	migrate  up | down [N] | version | force V | status | sql | generate:
//	         apply, revert, inspect or export klepto's schema
//	ls       list the archives, with their rows, bytes, codec, keymap, TTL, creation
//	         time and the memos' hits, misses and loads
//	create   NAME [-codec json|gob|raw] [-ttl D] [-adopt] [-skip-migrate]: create an archive,
//	         or adopt a table that the catalog does not list
//	drop     NAME -yes [-orphan]: drop an archive with all its entries, or a table
//	         that the catalog does not list
//	show     NAME [-limit N] [-offset N]: print a page of entries, values cut short
//	get      NAME KEY: print the value stored under a key
//	put      NAME KEY VALUE: store a value under a key
//	rm       NAME KEY...: remove entries by key
//	export   NAME [-o FILE] [-skip-bad]: write the archive's settings and entries as JSON Lines, with arguments and timestamps
//	import   NAME [-i FILE] [-skip-migrate]: read entries written by export, in one transaction
//	copy     -to DSN [NAME...] [-skip-bad] [-skip-migrate]: copy archives to another database, of any kind
//	purge    NAME -expired | -older-than D | -all -yes: remove entries
//	stats    NAME: print the rows, expired rows, bytes, oldest and newest write,
//	         and the memos' hits, misses and loads
//	version  print the version of klepto-sql
//	help     [COMMAND]: print the help, with examples, of klepto-sql or of a command
//
// The database is -db, else $KLEPTO_DSN, else sqlite:klepto.db:
// sqlite:PATH (or a PATH ending in .db), postgres://… (or postgresql://…,
// as lib/pq takes it) or mysql://USER:PASS@HOST:PORT/DB (or
// mysql:USER:PASS@tcp(HOST:PORT)/DB, as go-sql-driver/mysql takes it).
// Passwords are never printed, in errors either: every occurrence of the
// password of a DSN, in its user info or a password=… parameter, is
// xxxxx on stderr, even in a message of the server that quotes it. Commands that create the
// database if need be (create, import, migrate up) say so on stderr when
// they use the default.
//
// A connection to a server gives up after -connect-timeout, default
// $KLEPTO_CONNECT_TIMEOUT, else 10s; -timeout, default $KLEPTO_TIMEOUT,
// else none, stops a whole command (0 is none for both). The first
// interrupt (Ctrl-C) or SIGTERM stops a command, even one waiting for a
// server that never answers, with status 1 and a message that names the
// signal: at once, or, if a driver does not heed it, 3s later; a second
// one kills it.
//
// An export starts with a header line, the archive's settings, from which
// import creates the archive:
//
//	{"archive":{"name":"fib","func_version":"","codec":"json","keymap":"string","keymap_version":1,"ttl_ns":0}}
//
// ttl_ns is the TTL in nanoseconds, 0 for none; a bounded archive's
// header adds max_entries, max_bytes and evict. Each line after it is an
// entry (see klepto-sql help export).
//
// Keys are given as the key_text column stores them, such as (n=30);
// values are JSON for archives of codec json and bytes for codec raw.
// Results go to stdout, and diagnostics and progress bars to stderr;
// every command that prints data takes -json. Destructive commands (drop,
// purge, migrate down) need -yes. The exit status is 0 on success, 1 on
// failure and 2 for a usage error. An error prints once, as
// `klepto-sql: <error>`, naming the archive once, as the library's errors
// do (see the Errors section of package sqltable): such as
// `klepto-sql: archive "fib" has no key "(n=99)"` or
// `klepto-sql: sqltable fib: get "(n=3)": database is locked`.
//
// Klepto-sql is a thin shell over packages sqlarchive, sqltable and
// migrations: it holds no SQL of its own.
package main

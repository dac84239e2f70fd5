// Package sqltable stores an archive in one table of a SQL database:
// klepto's sqltable_archive, on SQLite, MySQL (and MariaDB) and PostgreSQL.
//
// [Open] returns a [Table] over the caller's own *sql.DB (or *sql.Conn, or
// *sql.Tx), creating the table if it is missing; the Table never opens or
// closes a pool. It finds the dialect from the database's driver, unless
// [Options].Dialect names it (a *sql.Tx needs it named). A Table is a
// [cache.Archive], so it can sit behind a memoizer, and also a
// [cache.Lister], [cache.ManyPutter] and [cache.ArgsPutter]:
//
//	fib, err := sqltable.Open[int](ctx, db, "fib", nil)
//	m, err := cache.Memoize(slowFib, &cache.MemoOptions[int]{Archive: fib})
//
// # Layout
//
// A Table is one table with one row per key, created by
// [dialect.Dialect.CreateTable]. Its primary key, key_hash, is the SHA-256
// of the key's text (keymap.Key.Hash), so every lookup is by a fixed
// 32-byte key whatever the length of the text. The other columns are
// key_text (the key, readable), args (the arguments of the call, as JSON,
// when written by [Table.PutArgs]), value, size_bytes (the length of the
// encoded value), and the created_at, updated_at and expires_at timestamps.
// A write of an existing key keeps created_at and args (unless PutArgs gives
// new arguments) and sets the rest.
//
// The args column holds the JSON of the arguments as it is, unless it has
// the character U+0000 (a NUL byte in a string argument), which
// PostgreSQL's JSONB refuses: then, on every database, it holds the
// object {"klepto:json": <that JSON, as a string>} ([ArgsWrapper]), as in
// {"klepto:json":"[\"a\\u0000b\"]"}, which is valid JSON without U+0000.
// Arguments whose JSON is itself an object with ArgsWrapper as its only
// member, a string, are stored wrapped too, so [Table.Rows] always
// unwraps, and gives the arguments' JSON back exactly.
//
// The hits and accessed_at columns count the reads that found the entry,
// and the time of the last one, when the Table has an [AccessLog]
// ([Options].AccessLog): a Get, GetExpiry or GetMany that finds an entry
// counts it in memory, and the log adds the counts to the rows in
// batches, one UPDATE per 500 keys, every [AccessLogOptions].FlushInterval
// (2 s by default) and on Close, so a read still costs one indexed SELECT
// and nothing more. A flush never creates a row, nor changes a value,
// updated_at or the change feed. Without an AccessLog a Table leaves the
// columns at their defaults, and reads write nothing.
//
// Open accepts an existing table, made by hand or by other tools, only
// if it has this layout: every column above but hits and accessed_at
// (without them, an AccessLog counts nothing for the table),
// key_hash as its primary key or alone in a unique key (else every Put
// would add a row), and types that hold what a Table stores: a binary
// key_hash (BINARY(32) or VARBINARY on MySQL), text key_text (VARCHAR
// too), JSON args and value (TEXT on SQLite, JSON or JSONB on PostgreSQL,
// JSON or a TEXT type on MySQL) or a binary value for codecs gob and raw,
// an integer size_bytes, and timestamps of the types CreateTable gives
// (TIMESTAMPTZ, not TIMESTAMP, on PostgreSQL; DATETIME, not TIMESTAMP, on
// MySQL; TEXT or a date type on SQLite). Otherwise it returns an error
// wrapping [ErrLayout] that lists every difference:
//
//	sqltable fib: open: the table does not match the archive layout: key_hash is not the primary key; value is text, want bytea (codec gob)
//
// # Reading a table with SQL tools
//
// Keys are text and values JSON by default, so the tables read well in any
// client:
//
//	sqlite3 cache.db "SELECT key_text, value FROM fib"
//	psql -c "SELECT key_text, value->>'name', args FROM fib WHERE key_text = '(n=30)'"
//	mysql -e "SELECT value FROM fib WHERE key_hash = UNHEX(SHA2('(n=30)', 256))"
//
// On PostgreSQL, find a key by hash with sha256(convert_to('(n=30)', 'UTF8')).
//
// key_text is always valid UTF-8, so every client can print it: a key whose
// text is not valid UTF-8, holds a NUL byte, or starts with [EscapePrefix]
// ("base64:") is stored as that prefix followed by the standard base64 of
// its bytes. [EncodeKeyText] and [DecodeKeyText] apply the rule; Keys and
// All undo it, so keys round-trip exactly.
//
// # Values
//
// [Options].Codec chooses how values are stored. codec.JSON, the default,
// stores encoding/json text (with <, > and & left unescaped) in the
// database's JSON type, where SQL JSON functions can reach it. encoding/json
// replaces invalid UTF-8 in strings by U+FFFD, and PostgreSQL's JSONB
// refuses the character U+0000 and normalizes objects (key order, spaces),
// which decoding does not notice. codec.Gob stores encoding/gob bytes,
// and codec.Raw stores a []byte as it is (an empty or nil value reads
// back as an empty, non-nil slice); both go into a binary column. A value
// that does not decode is an error that names the table and the key, such
// as
//
//	sqltable fib: decode value of key "(n=3)": json: cannot unmarshal string into Go value of type int
//
// and only reads of that entry fail.
//
// With [Options].Stored, a Table[[]byte] takes and gives values as the
// value column stores them, never encoded or decoded: the bytes of codecs
// gob and raw, the JSON text of codec json (checked, and stored without
// insignificant space). Tools use it to show, export and import the
// values of programs whose Go types they do not know; its writes go
// through the same statements, and the same change feed, as any Table's.
//
// Values larger than the database takes are refused before anything is
// sent, with an error wrapping [ErrTooLarge]: those above
// Options.MaxValueBytes, and on MySQL rows that would not fit in the
// server's max_allowed_packet, read by the first Open over a *sql.DB (see
// "Opening many tables"). The database's own
// "too large" errors are wrapped with ErrTooLarge too.
//
// # Errors
//
// Every package of this module writes its errors by one rule, written here:
// the package where an error starts names its subject (a table, a key, a
// file) once, and each package that wraps the error adds only its own
// operation, never the subject again, as os.PathError does
// (`open /etc/klepto.db: permission denied`). Messages are lower case,
// without a final period.
//
// A Table's errors start with the package and the table, then the
// operation and, for an operation on one key, the key: in full up to 64
// bytes; a longer one as its first 64 bytes, its length and the start of
// its SHA-256, the key_hash column (`put "(s='aaaa"… (16777222 bytes,
// sha256 3f9a1c0b2e4d5f60)`), so that a huge key makes a short error:
//
//	sqltable fib: get "(n=3)": context canceled
//	sqltable fib: put 500 entries: database is locked
//	sqltable fib: open: dialect postgres does not match the database's driver (github.com/go-sql-driver/mysql, dialect mysql)
//
// so that a memo over the Table adds only its operation,
// `cache: archive get: sqltable fib: get "(n=3)": context canceled`, and an
// Archive of package sqlarchive adds nothing to the errors of its tables.
// Before a table is named, a name that is not valid is the subject of
// package dialect: `sqltable: open: dialect: invalid table name "Fib": …`.
//
// Errors of the database driver are wrapped with %w, never replaced, so
// errors.As finds the driver's own error (*pq.Error, *mysql.MySQLError,
// sqlite3.Error) and the classifiers of package dialect recognize it.
// Conditions to branch on are sentinels, matched with errors.Is, whose
// text the messages do not repeat: [ErrClosed], [ErrTooLarge],
// [ErrInvalidOptions] and [ErrLayout]; a dialect that does not match the
// database is a *dialect.MismatchError, and a row that cannot be read a
// *[BadRowError].
//
// # Moving rows
//
// [Table.Rows] and [Table.PutRows] read and write whole rows, with their
// arguments and timestamps, for exports, imports and copies that lose
// nothing; [Table.CopyTo] copies a table into another, in this database or
// another one; [Table.DeleteBefore] removes entries last written before a
// time.
//
// A row that a Table cannot read, written by other tools or damaged (its
// key_hash is not the SHA-256 of its key text, its key_text is not valid
// base64 after EscapePrefix, a timestamp is not one, or its value does not
// decode), is a *[BadRowError] naming the table and the key:
//
//	sqltable fib: rows: bad row, key "(n=2)": key_hash 5c1f… is not the SHA-256 of key_text
//
// Rows yields it and goes on with the next row if the loop does; CopyTo
// never copies such a row, and stops at it unless [CopyOptions].OnBadRow
// skips it.
//
// # Expiry
//
// With Options.TTL, entries expire that long after they are written
// (expires_at). An expired entry is a miss everywhere (Get, Has, Len, Keys,
// All, GetMany, Pop, CopyTo) until it is written again; [Table.DeleteExpired]
// removes expired rows, and the janitor of package sqlarchive
// (sqlarchive.Options.ExpireInterval) removes them in the background.
// Expiry is a property of each row, so Tables with
// different TTLs, or none, can share a table. [Table.SetTTL] changes the
// TTL of the writes that follow; entries written before keep their
// expires_at. Time comes from Options.Clock, which tests replace.
//
// # Bounds
//
// With Options.MaxEntries or MaxBytes (or [Table.SetBounds]), a Table
// keeps the table within a bound: of its rows, expired or not, or of the
// sum of their size_bytes. A write that takes the table past a bound
// evicts, in the same call, the entries past it and one batch more, in the
// order Options.Evict: [EvictLRS], least recently stored first (by
// updated_at, the default, which costs reads nothing), [EvictLRU], least
// recently used (by accessed_at, NULL first, then updated_at), or
// [EvictLFU], least frequently used (by hits, then accessed_at and
// updated_at). A batch is a twentieth of the bound, at least
// [MinEvictBatch] entries or [MinEvictBatchBytes] bytes and at most 5,000
// entries; a bound smaller than one batch, or negative, is an error
// wrapping [ErrInvalidOptions]. Each batch is one transaction: it selects
// the victims in that order (locking them, on PostgreSQL and MySQL),
// records each in the change feed as an "evict" of its key, and deletes
// them in one statement, by an index of the order that Open (or
// SetBounds) creates if the table lacks it, named klepto_evict_ and a
// hash of the table's name and the order.
//
// Writes do not count rows one by one: a Table counts the rows (and
// bytes) that its writes may have added, and checks the table, with one
// COUNT(*) (and SUM(size_bytes) with MaxBytes) outside any transaction,
// after its first write and then after each eighth of a batch of its own
// writes: eight writers at once, processes or Tables, add at most one
// batch between two checks of the table. So the table holds at most the
// bound plus about one batch,
// and is within that when the writes stop (four processes writing 5,000
// new keys each into a table bounded to 1,000 entries never took it past
// 1,050); a check that finds it past the bound leaves it one batch under.
// Several writers may evict at once, and then evict more than needed.
// Reads never evict, and never wait for an eviction: until it commits,
// they see the table as it was. Of the goroutines of one Table only one
// evicts at a time; the others do not wait for it. [Table.Evict] evicts
// now. A write whose entry was stored but whose eviction failed returns an
// error wrapping [ErrEvict], and the next write tries again. A Table bound
// to a transaction on MySQL, where DDL would commit it, creates no index.
//
// # Time columns
//
// WARNING: the timestamps are stored in UTC, each database its own way,
// and each database has a "now" that does not compare with them. On
// SQLite they are text, "2026-11-27T06:25:59.037Z": compare them with
// strftime('%Y-%m-%dT%H:%M:%fZ', 'now') (dialect.Dialect.Now), not with
// datetime('now') or CURRENT_TIMESTAMP, whose text has a space where the
// stored text has a T and so sorts before it: `expires_at <=
// datetime('now')` misses every entry that expired earlier the same day.
// On MySQL and MariaDB they are DATETIME(6) holding UTC: compare them with
// UTC_TIMESTAMP(6), not NOW(), which is the wall clock of the session's
// time_zone: at +05:00, `expires_at <= NOW()` counts as expired the
// entries that expire in the next five hours. On PostgreSQL they are
// TIMESTAMPTZ, which now() compares with whatever the session's TimeZone.
// docs/sql.md, at the root of the module, gives the queries people ask for
// (live and expired entries, top keys by hits, biggest values, rows per
// day, a function's arguments and results) on each database; a test runs
// each of them, and the wrong forms above, against each database.
//
// # Change feed
//
// When the database has klepto's change feed, the table klepto_changes of
// package migrations (every database that package sqlarchive opens has
// it), a Table records in it each change that can make another process's
// memory stale, in the transaction of the change: a key overwritten by Put
// or PutArgs ("update"), removed by Delete or Pop ("delete") or evicted
// past the bounds ("evict", one per key), Clear
// ("clear"), DeleteBefore ("purge"), a PutMany, PutRows or CopyTo that
// overwrote keys ("batch", "import", "copy") and Drop ("drop"). Writing a
// key that was not there needs no record, since no memory can hold it: Put
// and PutArgs insert the key if absent, one statement, and only when it is
// there overwrite it and record the change, in one transaction. Expired
// entries that DeleteExpired removes need none either: memories expire
// them by themselves. Open finds the feed (with Options.RequireFeed, once
// per *sql.DB: see "Opening many tables"); over a database without one, a
// Table records nothing. A Table bound to a *sql.Tx records in that
// transaction. After each 64th change it records, a Table deletes the
// changes older than the last Options.FeedWindow. Package sqlarchive
// follows the feed to keep the memory of memos coherent across processes.
//
// # Read replicas
//
// [Options].ReadDB gives a Table a read replica of its database, such as a
// PostgreSQL hot standby, to read from, while every write goes to the
// Querier of Open, the primary. The single-key reads, Get, GetExpiry, Has
// and GetMany, read the replica first and the primary for the keys the
// replica lacks (or has expired), so a write the replica has yet to
// replay is never reported missing: a miss costs a second read, a hit
// does not. A key the replica has is served as the replica has it, which
// may be an older value of a key overwritten, or a key deleted, on the
// primary, until the replica replays the change. Len, Keys, All, Rows and
// CopyTo read the replica only, and see what it has replayed. A replica
// that has yet to replay the creation of the table is read as if it were
// the primary: every read goes to the primary until it has the table. A
// read that fails on the replica, because it is down, fails (after the
// Table's retries) rather than go to the primary. Every write, and Pop,
// use the primary; so does Open, which checks the layout there.
//
// # Opening many tables
//
// Open reads the columns of an existing table once, to find that it
// exists and to check its layout, and its unique keys; it creates a table
// that does not exist, and then reads its columns. Two facts hold for
// every table of a database, and are read by the first Open over a
// *sql.DB only, so that a service that opens many
// tables over one pool pays for them once: MySQL's max_allowed_packet,
// and, with Options.RequireFeed, that the change feed exists. An Open over
// a *sql.Tx, a *sql.Conn or another Querier reads them every time. They
// are kept beside the *sql.DB, which they do not keep alive, and are
// dropped when it is garbage-collected. A change of max_allowed_packet
// reaches the Tables opened over a *sql.DB made after it, and those opened
// after a write over it failed as too large. A feed dropped
// after an Open found it makes the next record of a change fail with an
// error wrapping [ErrNoFeed] (or the next Open, when preparing the record
// finds the feed gone), and the Opens after any failed record look for
// the feed again.
//
// # Concurrency and transactions
//
// A Table over a *sql.DB is safe for concurrent use, by goroutines and by
// processes sharing the database. It prepares its statements once (closed by
// [Table.Close]; Options.NoPrepare, for poolers in transaction mode such as
// PgBouncer's, sends them unprepared instead), runs [Table.PutMany] in one transaction when the batch
// needs several statements, and retries operations that fail with transient
// errors (busy, deadlock, serialization failure, and for operations safe to
// repeat a lost connection) a few times with a short jittered wait; see
// Options.Retries. PutMany sorts each batch by key_hash and removes
// duplicates, so concurrent batches take row locks in one order and do not
// deadlock.
//
// A Table over a *sql.Tx is bound to that transaction: its writes commit or
// roll back with it, it never retries (the caller retries the transaction),
// and it must not be used after the transaction ends. A transaction does
// not show its driver, so Options.Dialect must name its dialect. A Table over a
// *sql.Conn uses that one connection. Over either, calls must not overlap.
//
// Keys and All stream the rows of one query, holding a connection until the
// loop ends: with a pool of one connection, the loop body must not use the
// same pool.
//
// # SQLite
//
// Open SQLite files with [dialect.SQLiteDSN] (WAL, busy_timeout,
// _txlock=immediate, synchronous=NORMAL). The recommended setup is one pool
// limited to one connection for writes and a second, read-only pool
// ([dialect.SQLiteReaderDSN]) with a connection per CPU for reads: open the
// Table on the writer first (it creates the table), and a second Table of
// the same name on the reader for Get, Has, Keys and All, which then never
// wait for writes. One pool opened with SQLiteDSN also works. Writers of
// several processes take turns on the file's lock. A call waits for
// another connection's write lock as long as its context allows, or 5 s
// without a deadline, then fails with an error that [dialect.IsBusy]
// recognizes, wrapping the context's error when it ended: SQLite's own
// wait (busy_timeout, 100 ms in SQLiteDSN) does not see the context, so a
// Table retries after each one, and returns within about busy_timeout
// of the deadline. Open your own pools with the parameters of SQLiteDSN: a
// longer busy_timeout delays that return by as much. A Table whose
// Options.Retries is negative, or bound to a transaction, does not retry:
// it fails after one busy_timeout.
//
// # Metrics
//
// Options.Observer receives a cache.Event for each Get or GetExpiry (a hit
// or a miss), each write of Put, PutArgs and PutMany, with the time it
// took, the entries the bounds evict, and the errors of those methods and
// of Delete; AccessLogOptions.Observer receives the errors of the
// AccessLog's background flushes.
//
// # Differences from klepto
//
// klepto's sqltable_archive keys rows by the raw key in a VARCHAR(255), so
// long keys fail on servers and tuple keys fail everywhere; it writes with a
// SELECT, then an UPDATE or INSERT, and counts with a new session each time.
// A Table keys rows by a hash and keeps the key readable beside it, writes
// with one upsert, batches writes, keeps timestamps and expiry, and opens
// nothing of its own.
package sqltable

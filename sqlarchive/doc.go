// Package sqlarchive holds an archive that is a whole database of archive
// tables, with a catalog: klepto's sql_archive, made to share a database
// with an application and with other services.
//
// [Open] returns the [Archive] of a *sql.DB, finding its dialect from the
// driver unless [Options].Dialect names it, and applying klepto's
// migrations (package migrations) unless told not to. Each archive in it has a name,
// a row in the catalog table klepto_archives and a table of its own, an
// ordinary sqltable.Table: [Table] opens or creates one, [Memoize] memoizes
// a function into one, and [Archive.Tables], [Archive.Info], [Archive.Stats]
// and [Archive.Drop] list, describe, measure and drop them. [Dump] writes
// an archive as JSON Lines, a header with its settings then one [Record] a
// line, and [Load] reads a dump back, into any database, in one transaction.
// [Stored] opens the table of an archive with its values as stored, never
// decoded, for tools that do not know the values' Go types: Dump, Load,
// [Copy] and the klepto-sql commands reach entries through it.
//
// The catalog row of an archive records, in these columns:
//
//	name            the archive's name: a table name, or base@version (see TableName)
//	table_name      its table
//	keymap          the description of the keymap of its keys (keymap.Keymap.String)
//	keymap_version  the version of the key encoding (keymap.Version)
//	codec           how values are encoded: json, gob or raw
//	ttl_ns          how long entries live, in nanoseconds; 0 for ever
//	max_entries     the most entries its table keeps; 0 for no bound
//	max_bytes       the most bytes of values its table keeps; 0 for no bound
//	policy          the order of eviction past a bound: lrs, lru or lfu
//	func_version    the version of the memoized function; "" for none
//	result_type     the Go type of the memoized function's result (Memoize)
//	args_type       the Go type of its argument (Memoize)
//	layout_version  the layout of its table (dialect.Layout)
//	created_at      when the archive was created
//	updated_at      when the row last changed
//
// so that every process opens an archive alike: a reader needs no options,
// and a writer whose codec, keymap or TTL contradicts the catalog gets a
// [*MismatchError] rather than a table it cannot read or keys that never hit.
// [TableInfo] holds these columns: the archive's bounds and eviction order
// (policy, max_entries, max_bytes; see "Changing settings") and the
// statistics below.
//
// # Function versions and types
//
// A memoized function's results live in the archive of its name and
// version ([MemoizeOptions].Version, or name@version): give the function a
// new version when its results change, and the old results are never
// served for it. [Memoize] records the Go types of the function's result
// and argument in the catalog (TableInfo.ResultType and ArgsType), with
// their shape: named types with their package path, structs with their
// exported fields' names, types and json tags, for example
// "struct{N int; Name string `json:\"name\"`}". A later Memoize of the
// same name and version with another result or argument type, whose stored
// results would fail to decode at every call, or decode into the wrong
// fields, is refused with an error wrapping [ErrTypeChanged] that says what
// changed and to bump the version. A catalog row with no types, made by
// [Table], [CreateLike], the command or a release before migration 7, gets
// the types of the first Memoize over it. Types that encode themselves
// (json.Marshaler, encoding.TextMarshaler, gob.GobEncoder, such as
// time.Time) are recorded by name only, and a change of their encoding
// goes unseen; so does a change of the function's code that keeps its
// types. Plain [Table] checks no types.
//
// # Statistics
//
// An Archive keeps two kinds of statistics, gathered in memory, so that a
// read costs no statement of its own, and written every
// [Options].StatsInterval (2 s by default), by [Archive.FlushStats] and by
// Close:
//
//   - in the catalog, hits, misses and loads ([TableInfo].Hits, Misses
//     and Loads): the counts of cache.Info of the memos that [Memoize]
//     made, summed over every process and memo, each Archive adding what
//     its memos' counts grew by; stats_at ([TableInfo].StatsAt) is when
//     counts were last added;
//   - in each row of a table, hits and accessed_at: how many times a Get
//     of the table (through [Table] or a memo's archive) found the entry,
//     and when last, as sqltable.AccessLog writes them. A memo reads its
//     table only for keys it misses in memory, so the rows' hits of a
//     memoized archive sum to its catalog's loads. [Options].NoAccessStats
//     leaves the rows alone.
//
// Neither write creates a row, changes a value or records a change in the
// feed. Both are lower bounds of the calls made: they lag by up to
// StatsInterval, and counts whose write failed are lost, as are those of a
// process that ends without Close, of a memo garbage-collected between
// two flushes, and the reads that sqltable.AccessLog drops when 65,536 keys
// of one table wait. Once every process has closed its Archive, they add
// up to the calls made.
//
// # Metrics and logs
//
// [Options].Observer receives, as cache.Event values, what the Archive's
// memos and tables do (hits, loads, misses, writes, evictions, errors,
// with the time loads, function runs, reads and writes take) and the
// errors of its background work: the follower's reads of the change feed
// (op "follow"), the janitor's rounds ("expire"), the flushes of
// statistics ("flush stats", "flush access") and the renewal and release
// of the leases of memos' calls ("renew lease", "release leases"). [Options].Logger receives
// those background errors, and the errors that the memos' Safe option
// hides, at most one record a minute per failing operation. A memo's own
// MemoizeOptions.Memo.Observer and Logger, when set, take the place of
// the Archive's.
//
// # Changing settings
//
// [Archive.Alter] (`klepto-sql alter`) changes an archive's TTL, bounds
// and eviction order (see "Bounds" in package sqltable) in its catalog
// row, and records the change in the change feed, in one transaction.
// The tables this Archive opened take the new settings at once, the memos
// of other processes when the change reaches them (they also drop the
// archive's entries from memory), and tables that other processes open
// from then on; tables of other processes opened before keep theirs until
// opened again. The next write that checks the bounds evicts what is past
// them: Alter deletes nothing. A new TTL applies to the entries written
// from then on; entries already stored keep their expiry. After an Alter,
// TableOptions that set the old values are a [*MismatchError]. Evictions
// are in the change feed too, one "evict" per key, so that memos of other
// processes forget the evicted keys.
//
// # Schema
//
// Open applies klepto's pending migrations itself. Teams that apply them
// with their own tools (the files of migrations.Generate, run by
// golang-migrate's command, say) set [Options].SkipMigrate; without it,
// Open finds the tables of the latest migration and uses them as they
// are, recording nothing in klepto_schema_migrations. Open refuses, saying
// what it found and what to run, tables that match neither the recorded
// version nor the latest, or no single version, and a version record left
// dirty by a migration that failed part way (on MySQL, migrations.Up heals
// it).
//
// Open first sends one query, on any connection of the pool: it reads the
// version record, selecting from an empty join of klepto's tables every
// column of the latest migration, so that a missing table or column fails
// it. When it succeeds with a clean record at or past the latest migration
// Open knows, the schema is up to date, whatever pool or process asks, and
// Open skips the migration lock, migrations.Up and its other checks,
// which would find nothing to do. Otherwise, as on the first Open of a
// database, or after another process reverted a migration, left it dirty,
// or forced a record that the tables do not match, Open runs them all, and
// fails as above. Open remembers nothing of the schema: each one sees it
// as it is. The tables of the Archives over one *sql.DB find the change
// feed once (see "Opening many tables" in package sqltable).
//
// migrations.Down (`klepto-sql migrate down`) drops the catalog, not the
// archive tables: they stay, with their rows, and once the catalog is made
// again Table refuses them, as it refuses every table the catalog does not
// list. [Adopt] lists such a table in the catalog again, as the archive of
// its name, if its columns are those of an archive table;
// [Archive.DropOrphan] drops it.
//
// # Errors
//
// Errors name the archive once, after the package and the operation, as in
// `sqlarchive: drop "fib": …` or `sqlarchive: invalid archive name "Fib": upper-case letter 'F' at byte 0; names are lower case`.
// The errors of an archive's table come from package sqltable, which names
// the table, and are returned as they are (`sqltable fib: get "(n=3)": …`),
// with the archive's name added only when it is not the table's
// (`sqlarchive: archive "fib@v2": sqltable fib__v2: …`). The rule is
// written in the Errors section of package sqltable. Callers branch on
// [ErrNotFound], [ErrInvalidName], [ErrInvalidOptions], [ErrNoCatalog],
// [ErrNoFeed], [ErrNotOrphan], [ErrClosed], [ErrBrokenCatalog],
// [*MismatchError] and [*HeaderError], and on the *migrations.SchemaError
// and *migrations.DirtyError of Open.
//
// # Rows and catalog rows that other tools broke
//
// A row of an archive's table that cannot be read, such as one written by
// other tools whose key_hash is not the SHA-256 of its key_text, whose
// key_text is not valid base64 after "base64:", or whose created_at is
// not a time, is a *sqltable.BadRowError naming the table and the key.
// It stops [Dump] and [Copy], unless [DumpOptions] or [CopyOptions] say
// SkipBadRows: then the other rows are written, and the bad ones counted
// in the result. A catalog row that does not describe an archive, such as
// one whose codec is unknown, is listed by [Archive.Tables] with
// [TableInfo].Err set, beside the others; opening that archive fails with
// an error wrapping [ErrBrokenCatalog] that says what is wrong, and
// [Archive.Drop] drops it.
//
// # Differences from klepto
//
// klepto's sql_archive makes one table per key and treats every table of
// the database as a key, so an unrelated table breaks it, and a key that is
// not a string cannot be read back. Here a key is a row of an archive's
// table, any key of package keymap works, and an Archive lists, opens and
// drops only the tables its catalog names: it never takes over or drops a
// table of the application. Function versions, absent from klepto, give each
// version of a memoized function a table of its own.
//
// # Expiry
//
// Entries expire as in package sqltable: an expired entry is a miss for
// every read, and stays stored until it is written again, purged or
// deleted. With [Options].ExpireInterval, the Archive runs a janitor, one
// goroutine per Archive (so per database handle, however many tables it
// has), which every ExpireInterval deletes expired entries from the tables
// of the catalog's archives; [Archive.DeleteExpired] does one such round
// on demand, and [Archive.JanitorInfo] reports on them. A round reads the
// catalog, then deletes at most [Options].ExpireBatch entries (1,000 by
// default) over all tables, one bounded DELETE per table that the index
// on expires_at serves, the earliest expiries first; it takes the archives
// in turn, starting after the one where the last round stopped, so that
// an archive with more expired entries than a round deletes does not keep
// the others waiting. An entry is deleted only once it has expired both by
// [Options].Clock, which reads check, and by the database's clock, so that
// a process whose clock runs ahead does not delete entries that others
// still serve. Janitors of many processes may run at once: deleting an
// entry twice is harmless, and on PostgreSQL a round skips the rows that
// another transaction holds (SKIP LOCKED) rather than wait for them. Deleting expired entries records nothing in the change feed,
// as memories expire them by themselves. The janitor is off by default:
// it writes to the database on its own schedule, which on SQLite takes the
// one write lock, and expired entries are invisible to reads anyway; turn
// it on in one or a few long-running processes per database. docs/sql.md,
// at the root of the module, has queries for live and expired entries on
// each database.
//
// # Sharing between processes
//
// Memos of one function in many processes, through [Memoize], share its
// results and keep their memories coherent. Each Archive runs one
// follower, a goroutine started by its first memo or [Archive.Watch], that
// reads the change feed (the table klepto_changes, which package sqltable
// writes) every Options.PollInterval, or when a [Listener] on PostgreSQL
// reports a commit, and drops from its memos' memory what other processes
// changed; [Archive.FollowInfo] reports on it. Ids that the follower finds
// missing in the feed (transactions still open, or rolled back) are read
// when they appear, for up to a minute. On MySQL it awaits the ids of each
// class of id modulo auto_increment_increment apart, as each node of a
// MariaDB Galera cluster takes the ids of its auto_increment_offset: the
// ids of the other nodes, that a node writing alone leaves unused, are not
// missing. A follower that misses more than 1,000 ids at once (times
// auto_increment_increment), or fell behind by half the feed's window
// (Options.FeedWindow), drops all memory rather than skip a change. On Galera, statements that lose
// certification to another node's write (a deadlock, at commit) are run
// again; see docs/deploying.md. Of the
// processes that miss a key at once, one computes it under a lease, a row
// of klepto_leases whose expiry is on the database's clock, renewed while
// the function runs; the others poll for the result, or wake on a
// PostgreSQL notification when the lease is released. On the servers a
// released lease expires 100 ms later, so that a process whose statement
// read the table just before the result was stored finds the lease still
// held; SQLite, whose writes are serial and read the latest state, deletes
// it at once. Neither needs
// session state, such as advisory locks or MySQL's GET_LOCK: each of their
// statements stands alone, on any connection of the pool.
//
// # Read replicas
//
// With Options.ReadDB, a read replica of the Archive's database such as a
// PostgreSQL hot standby, the Archive reads from the replica what may lag,
// and nothing that must not:
//
//   - the tables of [Table] and [Memoize] read keys from the replica first,
//     and from the primary the keys it lacks (see sqltable.Options.ReadDB),
//     so a memo's miss on the replica is checked against the primary before
//     the lease and the function: replication lag never makes a process
//     compute a result that another one stored. A process that waits on
//     another's lease reads the result the same way, so it finds it on the
//     primary before the replica has it. Keys, All and Len of those tables
//     read the replica only.
//   - the follower reads the change feed from the replica, so a change made
//     by another process reaches memory once the replica has replayed it,
//     never before: a memo that dropped a key at a change read on the primary
//     could read the key's old value again from a replica that has yet to
//     replay it, and keep it. Its cursor is the id of the latest change the
//     replica has: the replica replays the primary's commits in their order,
//     so the changes it has yet to replay come after, or fill the gaps the
//     follower waits for, and none is skipped. Changes reach memory later by
//     the replica's lag; a replica that lags by more than a minute may make
//     the follower give up on gaps of transactions that committed out of
//     order meanwhile, as on one server.
//   - the catalog, leases, the statistics, [Archive.Stats], [Dump], [Load],
//     [Copy], [Stored] and the janitor use the primary, as do all writes.
//
// A Listener's notifications come from the primary, where the changes and
// leases are made: give it the primary's DSN. A notification may wake the
// follower before the replica has the change; the next poll, within
// Options.PollInterval, reads it.
//
// # Timeouts and pools
//
// Every call takes a context, and the packages of this module bound by it
// all the waiting they do themselves: for a lock, a lease or a free
// connection of the pool, and between retries. The renewals and releases
// of leases, which run in the background, have deadlines of their own. A
// statement that a driver has sent returns when the driver lets it:
//
//   - SQLite: a call waits for another connection's write lock as long as
//     its context allows, and returns soon after its deadline (SQLite's
//     own wait, busy_timeout, 100 ms with dialect.SQLiteDSN, goes on to its
//     end), with an error wrapping context.DeadlineExceeded.
//   - MySQL and MariaDB: go-sql-driver/mysql closes the connection of a
//     statement whose context ends, so a call returns at its deadline even
//     when the network stalls. Set the DSN's timeout (of a dial, such as
//     timeout=1s), and readTimeout above your longest statement.
//   - PostgreSQL: when the context of a statement ends, lib/pq sends a
//     cancel request on a new connection, then waits for the server's
//     answer as long as the network stalls, and for the cancel request as
//     long as connect_timeout allows. Open the pool with package
//     [github.com/klepto-sql/klepto/sqlarchive/pqconn], whose connections
//     end the first wait, bound the second to 100 ms, and bound the setup
//     of a connection by the context as well as by connect_timeout.
//
// A service should bound its pool: db.SetMaxOpenConns(n), with n times the
// number of processes below the server's connection limit, so that an
// outage, in which calls give up on their connections, does not end in
// "too many clients"; SetMaxIdleConns(n) and SetConnMaxIdleTime(time.Minute)
// to keep connections ready without holding idle ones for ever; and TCP
// keepalives (pqconn's default, or net.Dialer.KeepAlive) to notice
// connections whose server is gone. For PostgreSQL:
//
//	c, err := pqconn.NewConnector("postgres://app@db/app?connect_timeout=1", nil)
//	db := sql.OpenDB(c)
//	db.SetMaxOpenConns(20)
//	db.SetMaxIdleConns(20)
//	db.SetConnMaxIdleTime(time.Minute)
//
// With these settings, during a 5 s stall of the network, calls with a 1 s
// deadline return less than a second after it, the server holds no more
// than 2n connections of the pool, and calls succeed again within 2 s of
// the end of the stall, on PostgreSQL and on MariaDB.
//
// Behind a pooler in transaction mode, such as PgBouncer's
// pool_mode=transaction, set Options.NoPrepare and the driver's DSN
// parameter (lib/pq: binary_parameters=yes; pgx:
// default_query_exec_mode=exec), and give a [Listener] a direct
// connection; migrations and leases need no session. docs/deploying.md in
// the repository says what holds.
//
// # Concurrency and ownership
//
// An Archive and the tables it returns are safe for concurrent use, and
// any number of processes may open one database at once: creating and
// dropping an archive happen under the DDL lock of its table
// (dialect.Dialect.WithDDLLock), so concurrent creators make it once.
// The caller opens and closes the *sql.DB; [Archive.Close] closes the
// tables the Archive returned, never the *sql.DB.
package sqlarchive

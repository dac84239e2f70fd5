// Package migrations holds the versioned schema of klepto's own tables, for
// SQLite, MySQL and PostgreSQL, and runs it with golang-migrate. [Up] applies
// it to a database, [Down], [Version], [Status] and [Force] manage it, and
// [SQL] and [Generate] export it for teams that run migrations with their
// own tools (see below). The functions that take a *sql.DB take [Options] last: nil
// finds the dialect from the database's driver (dialect.Resolve), and a
// dialect that does not match the driver is refused before any statement.
// Archive tables themselves are created at run time by
// [dialect.Dialect.CreateTable]; their layout version is kept in the
// catalog.
//
// The schema, in every dialect (types as in the archive tables):
//
//   - klepto_archives, the catalog, one row per archive: name (primary key),
//     table_name (unique), keymap and keymap_version, codec ("json", "gob" or
//     "raw"), ttl_ns (a time.Duration; 0: none), func_version,
//     layout_version ([dialect.Layout]), created_at and updated_at; hits,
//     misses and loads (migration 6), the memos' counts summed over every
//     process, and stats_at (migration 6), when they were last added to,
//     NULL before (package sqlarchive maintains them); result_type and
//     args_type (migration 7), descriptions of the Go types of a memoized
//     function's result and argument, NULL until sqlarchive.Memoize
//     records them; and the bounds,
//     max_entries and max_bytes (0: none), and policy, the eviction order
//     ("", "lrs", "lru" or "lfu"), which sqlarchive.Archive.Alter changes;
//   - klepto_changes, the change feed, written by package sqltable and
//     followed by package sqlarchive: one row for each change that can make
//     another process's memory stale, with id (increasing), table_name, op
//     ("update", "delete", "evict", "clear", "purge", "batch", "import",
//     "copy", "alter" or "drop"), key_hash and key_text (NULL for a change of the whole table)
//     and at. PostgreSQL and MySQL assign ids at insert, not at commit, so a
//     reader may see id n+1 before n commits. On PostgreSQL, a statement
//     that inserts into it notifies the channel klepto_changes, with the
//     schema as payload, when its transaction commits;
//   - klepto_leases, the leases of keys being computed, so that one
//     process computes a key while the others wait: table_name and key_hash
//     (the primary key), holder, and expires_at on the database's clock. On
//     PostgreSQL it is UNLOGGED (emptied after a crash, absent from
//     standbys), as leases live seconds, and a statement that updates or
//     deletes leases notifies the channel klepto_leases. A released lease
//     expires 100 ms later, and is deleted a minute or two after that;
//   - klepto_schema_migrations, the version record (version, dirty), in
//     golang-migrate's shape, named so that it never collides with an
//     application's own schema_migrations.
//   - on a MariaDB Galera cluster only, klepto_schema_migrations_lock
//     ([GaleraLockTable]): the migration lock of the cluster, a row
//     (lock_id, holder, expires_at) while a run holds it.
//
// # Failures
//
// A migration that fails leaves the database at the version it started
// from, clean. On PostgreSQL and SQLite, a migration and its version
// record commit together in one transaction, so a failure (a user without
// the right to drop a table, a name in the way) rolls both back. On MySQL,
// which commits each DDL statement on its own, every migration is a single
// statement, applied whole or not at all, and a failed one writes back the
// previous version record. A process that dies between a MySQL statement
// and its version record leaves the record dirty: [Up] then finds the
// version that klepto's tables match and goes on from there.
//
// Before it migrates, Up compares the version record with klepto's tables,
// each migration being known by the table or column it adds. If they
// disagree, because another tool applied or reverted migrations, or
// someone created or dropped a table by hand, Up runs nothing and returns a
// [*SchemaError] that says what the tables match and what to run. A dirty
// record left by golang-migrate's own drivers, or by earlier releases, is a
// [*DirtyError], which says the same. [Status] reports both the record and
// what the tables match ([Found]).
//
// # Archive tables
//
// [Down] drops klepto's own tables, the catalog among them, but not the
// tables of the archives, which are created at run time: they stay, with
// their rows, outside any catalog. Once Up has made the catalog again,
// sqlarchive.Adopt (`klepto-sql create -adopt NAME`) lists such a table
// again, and sqlarchive.Archive.DropOrphan (`klepto-sql drop -orphan NAME
// -yes`) drops it.
//
// # Your own migration tool
//
// [Generate] writes klepto's migration files into a project's migration
// folder, numbered after the project's own files (or from
// [GenerateOptions].Start, such as a timestamp), never on a version that
// another file has. golang-migrate's command, or another tool, then
// applies them with the project's migrations and records them in the
// project's own version table: klepto_schema_migrations stays empty, and
// sqlarchive.Open finds klepto's tables and uses them as they are.
//
// # How migrations run
//
// Migrations run with golang-migrate's core, reading the SQL files embedded
// in this package, through a small database driver of klepto's own that
// works on a connection taken from the caller's *sql.DB, which is never
// closed. This package imports no database/sql driver and needs no cgo: the
// program registers the one it uses. The version table, its shape and the
// lock keys are golang-migrate's, so databases migrated by earlier releases
// keep working. Concurrent runs take turns under a lock: on PostgreSQL,
// golang-migrate's advisory lock, taken with pg_advisory_xact_lock in a
// transaction held open on a second connection of the pool until the run
// ends, so that the lock holds behind a pooler in transaction mode such as
// PgBouncer's (over a pool limited to one connection, pg_advisory_lock on
// the run's own connection, which needs a direct connection), bounded by
// lock_timeout; GET_LOCK on MySQL, and on a MariaDB Galera node, where
// GET_LOCK holds only on its node, also a row of [GaleraLockTable] that
// Galera's certification lets one node insert at a time (the run renews
// it every 30 s and before it records each version, and stops with an
// error if another run took it over; it expires 2 minutes after a run
// that died), with the run's reads made under
// wsrep_sync_wait = 1 so that a node that lags never shows another node's
// migration as under way; on SQLite,
// SQLite's own write lock and an OS file lock on
// "<database file>.klepto-migrate.lock". That file exists only while a run
// holds the lock, so none is left beside the database. The holder removes
// it before it releases the lock (on Windows, which cannot remove an open
// file, just after, and only if no other process has it open), and a
// process that then gets the lock on the removed file sees that it is no
// longer the file at that path and starts again: the lock stays exclusive
// across processes. A file left by a process that crashed is harmless, and
// goes at the end of the next run. A lock path that holds anything but a
// regular file (a device, a named pipe, a link) is refused with
// [ErrNotRegularLock], and never opened or removed. Every MySQL migration is a single
// statement, because MySQL commits DDL statement by statement, so the
// connection needs no multiStatements=true.
//
// Errors start with the package and the operation, and name what they are
// about once, as in `migrations: up: dialect mysql does not match the
// database's driver (github.com/lib/pq, dialect postgres)`; the rule is
// written in the Errors section of package
// [github.com/klepto-sql/klepto/sqltable]. Callers branch on [ErrNoChange],
// [ErrLocked], [*DirtyError] and [*SchemaError].
//
// All functions are safe for concurrent use, from any number of processes.
package migrations

package dialect

import "net/url"

// sqliteParams are the go-sqlite3 connection parameters of a writer pool,
// measured to matter under concurrency: WAL lets readers run beside the
// writer, and _txlock=immediate takes the write lock at BEGIN, where
// busy_timeout applies, rather than on the first write, where it does not.
// synchronous=NORMAL is safe in WAL mode and loses at most the last
// transactions on power failure, never integrity.
//
// busy_timeout is short, 100 ms: SQLite's busy handler, which waits for
// another connection's lock, does not see a canceled context, so a
// statement waits for the whole busy_timeout whatever its deadline. The
// packages of this module wait for the lock in Go instead, retrying the
// statement after each busy_timeout until the context ends (or, without a
// deadline, for 5 s), so that a call returns within about 100 ms of its
// deadline.
const sqliteParams = "_journal_mode=WAL&_busy_timeout=100&_txlock=immediate&_synchronous=NORMAL"

// sqliteReaderParams are those of a reader pool: no write lock at BEGIN, and
// no writes at all.
const sqliteReaderParams = "_journal_mode=WAL&_busy_timeout=100&_synchronous=NORMAL&_query_only=true"

// SQLiteDSN returns the github.com/mattn/go-sqlite3 data source name of the
// database file at path for a pool that writes:
//
//	file:<path>?_journal_mode=WAL&_busy_timeout=100&_txlock=immediate&_synchronous=NORMAL
//
// The recommended setup is two pools on one file: a writer,
// sql.Open("sqlite3", SQLiteDSN(path)) with db.SetMaxOpenConns(1), so that
// writers queue in Go rather than poll the file lock, and a reader,
// sql.Open("sqlite3", SQLiteReaderDSN(path)) with as many connections as
// there are CPUs. In WAL mode readers never block the writer. One pool of
// several connections opened with SQLiteDSN also works, at the cost of
// writers taking turns at the file's lock. The file must be on a local file
// system, and every process using it needs write access to its directory.
//
// The busy_timeout of 100 ms is what lets calls honour their contexts:
// SQLite waits for another connection's write lock in a busy handler that
// a canceled context does not interrupt, so a statement returns only after
// busy_timeout, whatever its deadline. Packages sqltable and sqlarchive,
// and [Dialect.WithDDLLock], retry a statement that fails with SQLITE_BUSY
// (see [IsBusy]) until its context ends or, without a deadline, for 5 s,
// so that a call waits for the lock as long as its context allows, and
// returns within about busy_timeout of its deadline. A pool opened with
// your own DSN should use the same parameters: a longer busy_timeout, or
// go-sqlite3's default of 5000 ms, delays the return of a call whose
// deadline passes by up to that long; without _txlock=immediate, a
// transaction that reads before it writes can fail with SQLITE_BUSY at its
// first write, without waiting; without WAL, readers wait for writers too.
// Code of your own on the same pool that writes outside these packages
// should retry SQLITE_BUSY as they do.
func SQLiteDSN(path string) string { return sqliteFileURI(path) + "?" + sqliteParams }

// SQLiteReaderDSN returns the github.com/mattn/go-sqlite3 data source name of
// the database file at path for a read-only pool: as [SQLiteDSN], but with
// PRAGMA query_only and without _txlock=immediate, so that its transactions
// never take the write lock (go-sqlite3 ignores sql.TxOptions.ReadOnly).
func SQLiteReaderDSN(path string) string {
	return sqliteFileURI(path) + "?" + sqliteReaderParams
}

// sqliteFileURI returns the file: URI of path, escaping the characters that
// would end the path or start an escape (?, #, %, and white space).
func sqliteFileURI(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath()
}

// moderncParams and moderncReaderParams are sqliteParams and
// sqliteReaderParams as modernc.org/sqlite reads them: PRAGMAs as _pragma
// values, which the driver runs on every new connection, busy_timeout first.
const (
	moderncParams       = "_pragma=busy_timeout(100)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	moderncReaderParams = "_pragma=busy_timeout(100)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=query_only(1)"
)

// ModerncSQLiteDSN returns the modernc.org/sqlite (driver "sqlite", no cgo)
// data source name of the database file at path for a pool that writes,
// with the settings of [SQLiteDSN] and for the same reasons:
//
//	file:<path>?_pragma=busy_timeout(100)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate
//
// Open it with sql.Open("sqlite", ModerncSQLiteDSN(path)); everything
// [SQLiteDSN] says of pools and busy_timeout holds for it.
func ModerncSQLiteDSN(path string) string { return sqliteFileURI(path) + "?" + moderncParams }

// ModerncSQLiteReaderDSN returns the modernc.org/sqlite data source name of
// the database file at path for a read-only pool: as [ModerncSQLiteDSN], but
// with PRAGMA query_only and without _txlock=immediate, as
// [SQLiteReaderDSN].
func ModerncSQLiteReaderDSN(path string) string {
	return sqliteFileURI(path) + "?" + moderncReaderParams
}

package dialect

import "net/url"

// sqliteParams are the go-sqlite3 connection parameters of a writer pool,
// measured to matter under concurrency: WAL lets readers run beside the
// writer, busy_timeout makes a blocked writer wait instead of failing, and
// _txlock=immediate takes the write lock at BEGIN, where busy_timeout
// applies, rather than on the first write, where it does not.
// synchronous=NORMAL is safe in WAL mode and loses at most the last
// transactions on power failure, never integrity.
const sqliteParams = "_journal_mode=WAL&_busy_timeout=5000&_txlock=immediate&_synchronous=NORMAL"

// sqliteReaderParams are those of a reader pool: no write lock at BEGIN, and
// no writes at all.
const sqliteReaderParams = "_journal_mode=WAL&_busy_timeout=5000&_synchronous=NORMAL&_query_only=true"

// SQLiteDSN returns the github.com/mattn/go-sqlite3 data source name of the
// database file at path for a pool that writes:
//
//	file:<path>?_journal_mode=WAL&_busy_timeout=5000&_txlock=immediate&_synchronous=NORMAL
//
// The recommended setup is two pools on one file: a writer,
// sql.Open("sqlite3", SQLiteDSN(path)) with db.SetMaxOpenConns(1), so that
// writers queue in Go rather than poll the file lock, and a reader,
// sql.Open("sqlite3", SQLiteReaderDSN(path)) with as many connections as
// there are CPUs. In WAL mode readers never block the writer. One pool of
// several connections opened with SQLiteDSN also works, at the cost of
// writers waiting in busy_timeout. The file must be on a local file system,
// and every process using it needs write access to its directory.
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

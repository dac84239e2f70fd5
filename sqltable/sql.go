package sqltable

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/klepto-sql/klepto/dialect"
)

// stmt is one statement of a Table: its SQL, and the statement prepared from
// it when the Table's Querier can prepare statements that outlive a call:
// on the pool or connection, or on the transaction the Table is bound to
// (then inTx is true).
type stmt struct {
	query string
	ps    *sql.Stmt
	inTx  bool
}

func (s *stmt) exec(ctx context.Context, q Querier, args ...any) (sql.Result, error) {
	if s.ps != nil {
		return s.ps.ExecContext(ctx, args...)
	}
	return q.ExecContext(ctx, s.query, args...)
}

// execOn runs s on q, which may be a transaction the Table began: s runs
// inside it.
func (s *stmt) execOn(ctx context.Context, q Querier, args ...any) (sql.Result, error) {
	if tx, ok := q.(*sql.Tx); ok && s.ps != nil && !s.inTx {
		return tx.StmtContext(ctx, s.ps).ExecContext(ctx, args...)
	}
	return s.exec(ctx, q, args...)
}

// queryRowOn runs s on q, which may be a transaction, as execOn does.
func (s *stmt) queryRowOn(ctx context.Context, q Querier, args ...any) *sql.Row {
	if tx, ok := q.(*sql.Tx); ok && s.ps != nil && !s.inTx {
		return tx.StmtContext(ctx, s.ps).QueryRowContext(ctx, args...)
	}
	return s.queryRow(ctx, q, args...)
}

func (s *stmt) queryRows(ctx context.Context, q Querier, args ...any) (*sql.Rows, error) {
	if s.ps != nil {
		return s.ps.QueryContext(ctx, args...)
	}
	return q.QueryContext(ctx, s.query, args...)
}

func (s *stmt) queryRow(ctx context.Context, q Querier, args ...any) *sql.Row {
	if s.ps != nil {
		return s.ps.QueryRowContext(ctx, args...)
	}
	return q.QueryRowContext(ctx, s.query, args...)
}

// queries holds the SQL of a Table, written once by buildQueries. The
// queries that read entries skip expired ones: their first argument is the
// current time. The exceptions are get and has, the hot path, which read
// expires_at and leave the check to Go, so that entries without expiry
// cost no time argument.
type queries struct {
	// Prepared when the Querier allows it.
	get     stmt // key_hash -> value, expires_at
	has     stmt // key_hash -> expires_at
	count   stmt // now -> COUNT(*)
	del     stmt // key_hash
	put     stmt // putColumns
	putArgs stmt // putArgsColumns
	// The same, inserting only keys not present: how a Table with a change
	// feed writes, so that a new key needs no record (see change).
	putNew     stmt
	putArgsNew stmt

	keys          string // now -> key_text, in key_hash order
	all           string // now -> key_text, value, expires_at, in key_hash order
	clear         string
	deleteExpired string // now
	pop           string // now, key_hash -> value: DELETE … RETURNING, or SELECT … FOR UPDATE on MySQL
	columns       string // table name -> column name, type
	uniqueKeys    string // table name -> key name, column name (see uniqueKeysQuery)
	page          string // now -> copyColumns, first page
	pageAfter     string // now, key_hash -> copyColumns, the page after key_hash

	d     *dialect.Dialect
	table string
	live  string // the condition on expires_at, with one argument
}

// prepared returns the statements that are prepared once per Table.
func (q *queries) prepared() []*stmt {
	return []*stmt{&q.get, &q.has, &q.count, &q.del, &q.put, &q.putArgs, &q.putNew, &q.putArgsNew}
}

// Columns written by Put and PutMany, by PutArgs, and by CopyTo. Put and
// PutMany leave args out, so that a stored entry keeps the arguments a
// PutArgs gave it.
var (
	putColumns     = []string{"key_hash", "key_text", "value", "size_bytes", "created_at", "updated_at", "expires_at"}
	putArgsColumns = []string{"key_hash", "key_text", "args", "value", "size_bytes", "created_at", "updated_at", "expires_at"}
	copyColumns    = putArgsColumns
)

// Columns an upsert overwrites: created_at keeps the first write's time.
var (
	putUpdate     = []string{"value", "size_bytes", "updated_at", "expires_at"}
	putArgsUpdate = []string{"args", "value", "size_bytes", "updated_at", "expires_at"}
)

// pageRows is how many rows CopyTo reads at a time.
const pageRows = 500

// pgTableOID is the oid of the table $1 of the current schema on
// PostgreSQL; NULL if there is none.
const pgTableOID = `to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1))`

// pgColumns reads the columns of the table $1 of the current schema on
// PostgreSQL, with their types as information_schema.columns's data_type
// names them: format_type of the type, or of a domain's base type.
const pgColumns = `SELECT a.attname, format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, NULL) ` +
	`FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid ` +
	`WHERE a.attrelid = ` + pgTableOID + ` AND a.attnum > 0 AND NOT a.attisdropped`

func buildQueries(d *dialect.Dialect, table string) (queries, error) {
	t := d.QuoteIdent(table)
	c := func(name string) string { return d.QuoteIdent(name) }
	live := "(" + c("expires_at") + " IS NULL OR " + c("expires_at") + " > ?)"
	q := queries{d: d, table: table, live: live}
	q.get.query = d.Rebind("SELECT " + c("value") + ", " + c("expires_at") + " FROM " + t + " WHERE " + c("key_hash") + " = ?")
	q.has.query = d.Rebind("SELECT " + c("expires_at") + " FROM " + t + " WHERE " + c("key_hash") + " = ?")
	q.count.query = d.Rebind("SELECT COUNT(*) FROM " + t + " WHERE " + live)
	q.del.query = d.Rebind("DELETE FROM " + t + " WHERE " + c("key_hash") + " = ?")
	q.keys = d.Rebind("SELECT " + c("key_text") + " FROM " + t + " WHERE " + live + " ORDER BY " + c("key_hash"))
	q.all = d.Rebind("SELECT " + c("key_text") + ", " + c("value") + ", " + c("expires_at") + " FROM " + t + " WHERE " + live + " ORDER BY " + c("key_hash"))
	q.clear = "DELETE FROM " + t
	q.deleteExpired = d.Rebind("DELETE FROM " + t + " WHERE " + c("expires_at") + " <= ?")
	if d == dialect.MySQL {
		q.pop = "SELECT " + c("value") + " FROM " + t + " WHERE " + live + " AND " + c("key_hash") + " = ? FOR UPDATE"
	} else {
		q.pop = d.Rebind("DELETE FROM " + t + " WHERE " + live + " AND " + c("key_hash") + " = ? RETURNING " + c("value"))
	}
	switch d {
	case dialect.SQLite:
		q.columns = `SELECT name, type FROM pragma_table_info(?)`
	case dialect.Postgres:
		// information_schema.columns's data_type, read from pg_catalog:
		// the view takes 10 to 40 ms a query, pg_catalog under 1 ms.
		q.columns = pgColumns
	default:
		q.columns = `SELECT column_name, column_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?`
	}
	q.uniqueKeys = uniqueKeysQuery(d)
	sel := make([]string, len(copyColumns))
	for i, name := range copyColumns {
		sel[i] = c(name)
	}
	page := "SELECT " + strings.Join(sel, ", ") + " FROM " + t + " WHERE " + live
	order := " ORDER BY " + c("key_hash") + " LIMIT " + strconv.Itoa(pageRows)
	q.page = d.Rebind(page + order)
	q.pageAfter = d.Rebind(page + " AND " + c("key_hash") + " > ?" + order)

	var err error
	if q.put.query, err = q.upsert(batchPut, 1); err != nil {
		return q, err
	}
	if q.putArgs.query, err = q.upsert(batchPutArgs, 1); err != nil {
		return q, err
	}
	if q.putNew.query, err = q.insertNew(batchPut, 1); err != nil {
		return q, err
	}
	if q.putArgsNew.query, err = q.insertNew(batchPutArgs, 1); err != nil {
		return q, err
	}
	return q, nil
}

// batchKind names the statements that write or read several rows.
type batchKind uint8

const (
	batchPut     batchKind = iota // PutMany: putColumns
	batchPutArgs                  // PutArgs: putArgsColumns
	batchCopy                     // CopyTo: copyColumns
	batchGet                      // GetMany: key_hash IN (…)
	batchPutJSON                  // PutMany on PostgreSQL, small JSON values: one JSON array (see pgJSONUpsert)
)

// batchKey identifies a multi-row statement, cached when prepared.
type batchKey struct {
	kind  batchKind
	rows  int
	fresh bool // insert only keys not present (see queries.insertNew)
}

// columns returns the columns written by statements of kind k.
func (k batchKind) columns() []string {
	switch k {
	case batchPut:
		return putColumns
	case batchGet:
		return []string{"key_hash"}
	default:
		return putArgsColumns
	}
}

// upsert returns the SQL of an upsert of kind k of rows rows.
func (q *queries) upsert(k batchKind, rows int) (string, error) {
	update := putArgsUpdate
	if k == batchPut {
		update = putUpdate
	}
	return q.d.Upsert(dialect.Upsert{
		Table:   q.table,
		Columns: k.columns(),
		Key:     []string{"key_hash"},
		Update:  update,
		Rows:    rows,
	})
}

// insertNew returns the SQL of an insert of kind k of rows rows that
// inserts no key already present: ON CONFLICT DO NOTHING on SQLite and
// PostgreSQL, and on MySQL a plain INSERT, which fails with a duplicate key
// error (see Table.insertNew).
func (q *queries) insertNew(k batchKind, rows int) (string, error) {
	if q.d != dialect.MySQL {
		return q.d.Upsert(dialect.Upsert{Table: q.table, Columns: k.columns(), Key: []string{"key_hash"}, Rows: rows})
	}
	cols := k.columns()
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = q.d.QuoteIdent(c)
	}
	values := make([]string, rows)
	for i := range values {
		values[i] = "(" + q.d.Placeholders(1, len(cols)) + ")"
	}
	return "INSERT INTO " + q.d.QuoteIdent(q.table) + " (" + strings.Join(quoted, ", ") + ") VALUES " +
		strings.Join(values, ", "), nil
}

// getMany returns the SQL that reads the values of n keys: the arguments
// are the current time, then the n key hashes.
//
// On MySQL the expiry condition is written COALESCE(expires_at > ?, TRUE),
// which means what q.live means but is no range the optimizer can use:
// given "expires_at IS NULL OR expires_at > ?" beside 1,000 keys, MariaDB
// weighs the expires_at index against the primary key's 1,000 ranges on
// every call, which made the read 1.27x the same read without the
// condition (BENCHMARKS.md, "GetMany of 1,000 stored keys").
func (q *queries) getMany(n int) string {
	d := q.d
	live := d.Rebind(q.live)
	if d == dialect.MySQL {
		live = "COALESCE(" + d.QuoteIdent("expires_at") + " > ?, TRUE)"
	}
	return "SELECT " + d.QuoteIdent("key_hash") + ", " + d.QuoteIdent("value") +
		" FROM " + d.QuoteIdent(q.table) +
		" WHERE " + live + " AND " + d.QuoteIdent("key_hash") +
		" IN (" + d.Placeholders(2, n) + ")"
}

// pgGetMany returns PostgreSQL's GetMany: one statement whatever the
// number of keys, whose arguments are the current time and the key hashes
// as the text form of a bytea array (see pgArray), so that any driver binds
// it alike. The rows are joined to the keys of the array, unnested once:
// key_hash = ANY of the array would compare each row read to every key.
func (q *queries) pgGetMany() string {
	d := q.d
	c := d.QuoteIdent
	return "SELECT t." + c("key_hash") + ", t." + c("value") +
		" FROM unnest($2::text::bytea[]) AS k(h) JOIN " + c(q.table) + " AS t ON t." + c("key_hash") + " = k.h" +
		" WHERE (t." + c("expires_at") + " IS NULL OR t." + c("expires_at") + " > $1)"
}

// batchSQL returns the SQL of the batch statement of key.
func (q *queries) batchSQL(key batchKey) (string, error) {
	switch {
	case key.kind == batchGet:
		return q.getMany(key.rows), nil
	case key.fresh:
		return q.insertNew(key.kind, key.rows)
	}
	return q.upsert(key.kind, key.rows)
}

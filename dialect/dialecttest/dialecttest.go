package dialecttest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
)

// Run checks that d describes the database behind db. It creates tables with
// a random prefix, and drops them when the test ends; it also creates tables
// named after reserved words (such as "select" and "order") when no table
// of that name exists, so two Runs must not share one schema at the same
// time. db must allow at least two open connections.
//
// Run covers table-name validation and identifier quoting, the archive table
// of each codec (column types, JSON checks, timestamps), single and
// multi-row upserts up to [dialect.Dialect.MaxPlaceholders], table listing,
// the DDL lock under concurrent creators, and each error classifier against
// an error the database really returns.
func Run(t *testing.T, db *sql.DB, d *dialect.Dialect) {
	s := &suite{db: db, d: d, prefix: fmt.Sprintf("dt%08x", rand.Uint32())}
	t.Run("Names", s.testNames)
	t.Run("Quoting", s.testQuoting)
	t.Run("CreateTable", s.testCreateTable)
	t.Run("Timestamps", s.testTimestamps)
	t.Run("Upsert", s.testUpsert)
	t.Run("UpsertMany", s.testUpsertMany)
	t.Run("Rebind", s.testRebind)
	t.Run("Tables", s.testTables)
	t.Run("DDLLock", s.testDDLLock)
	t.Run("Errors", s.testErrors)
}

type suite struct {
	db     *sql.DB
	d      *dialect.Dialect
	prefix string
}

// columns are the archive table's columns, in the argument order of row.
var columns = []string{
	"key_hash", "key_text", "args", "value", "size_bytes", "hits",
	"created_at", "updated_at", "accessed_at", "expires_at",
}

// entry is one row of an archive table.
type entry struct {
	key      string
	args     string // JSON, or "" for NULL
	value    []byte
	size     int64
	hits     int64
	created  time.Time
	updated  time.Time
	accessed time.Time
	expires  time.Time // zero for NULL
}

func hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// defaultTime stands in for the zero time in created_at, updated_at and
// accessed_at, which are NOT NULL.
var defaultTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// args returns the bind arguments of e, in the order of columns.
func (s *suite) args(e entry, c codec.Codec) []any {
	for _, t := range []*time.Time{&e.created, &e.updated, &e.accessed} {
		if t.IsZero() {
			*t = defaultTime
		}
	}
	var args any
	if e.args != "" {
		args = e.args
	}
	var value any = e.value
	if !c.Binary() {
		value = string(e.value)
	}
	return []any{
		hash(e.key), e.key, args, value, e.size, e.hits,
		s.d.TimeArg(e.created), s.d.TimeArg(e.updated), s.d.TimeArg(e.accessed), s.d.TimeArg(e.expires),
	}
}

// name returns a table name unique to this run.
func (s *suite) name(suffix string) string { return s.prefix + "_" + suffix }

// exec runs a statement that must succeed.
func (s *suite) exec(t *testing.T, q dialect.Querier, query string, args ...any) {
	t.Helper()
	if _, err := q.ExecContext(t.Context(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// create creates the archive table called name, under the DDL lock, and
// drops it when the test ends.
func (s *suite) create(t *testing.T, name string, c codec.Codec) {
	t.Helper()
	stmts, err := s.d.CreateTable(name, c)
	if err != nil {
		t.Fatalf("CreateTable(%q, %v): %v", name, c, err)
	}
	s.dropAtEnd(t, name)
	err = s.d.WithDDLLock(t.Context(), s.db, name, func(ctx context.Context, q dialect.Querier) error {
		for _, stmt := range stmts {
			if _, err := q.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create table %q: %v", name, err)
	}
}

// dropAtEnd drops the table called name, quoted but not validated, when
// the test ends.
func (s *suite) dropAtEnd(t *testing.T, name string) {
	t.Cleanup(func() {
		if _, err := s.db.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+s.d.QuoteIdent(name)); err != nil {
			t.Errorf("drop table %q: %v", name, err)
		}
	})
}

// upsert builds the statement of u, which must be valid.
func (s *suite) upsert(t *testing.T, u dialect.Upsert) string {
	t.Helper()
	query, err := s.d.Upsert(u)
	if err != nil {
		t.Fatalf("Upsert(%+v): %v", u, err)
	}
	return query
}

// put upserts the entries into the archive table, updating every column but
// key_text, hits and created_at on a conflict.
func (s *suite) put(t *testing.T, table string, c codec.Codec, es ...entry) {
	t.Helper()
	query := s.upsert(t, dialect.Upsert{
		Table:   table,
		Columns: columns,
		Key:     []string{"key_hash"},
		Update:  []string{"args", "value", "size_bytes", "updated_at", "accessed_at", "expires_at"},
		Rows:    len(es),
	})
	var args []any
	for _, e := range es {
		args = append(args, s.args(e, c)...)
	}
	s.exec(t, s.db, query, args...)
}

// get reads the entry of key back from the archive table.
func (s *suite) get(t *testing.T, table, key string) (entry, bool) {
	t.Helper()
	e := entry{key: key}
	var args sql.NullString
	query := s.d.Rebind(`SELECT key_text, args, value, size_bytes, hits, created_at, updated_at, accessed_at, expires_at FROM ` +
		s.d.QuoteIdent(table) + ` WHERE key_hash = ?`)
	err := s.db.QueryRowContext(t.Context(), query, hash(key)).Scan(&e.key, &args, &e.value, &e.size, &e.hits,
		s.d.ScanTime(&e.created), s.d.ScanTime(&e.updated), s.d.ScanTime(&e.accessed), s.d.ScanTime(&e.expires))
	if errors.Is(err, sql.ErrNoRows) {
		return entry{}, false
	}
	if err != nil {
		t.Fatalf("get %q from %s: %v", key, table, err)
	}
	e.args = args.String
	return e, true
}

// count returns the number of rows of table.
func (s *suite) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM `+s.d.QuoteIdent(table)).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// exists reports whether the table called name exists.
func (s *suite) exists(t *testing.T, name string) bool {
	t.Helper()
	ok, err := s.d.TableExists(t.Context(), s.db, name)
	if err != nil {
		t.Fatalf("TableExists(%q): %v", name, err)
	}
	return ok
}

func (s *suite) testNames(t *testing.T) {
	invalid := []string{
		"", "Fib", "fiB", "fib;drop", `fi"b`, "fi`b", "fi'b", "fi b", "fi\tb", "fib\n",
		"fïb", "日本", "1fib", "_fib", "fib-2", "fib.x", "fib\x00", "\xff",
		strings.Repeat("a", dialect.MaxTableName+1), "sqlite_x", "pg_x", "klepto_x", "klepto_archives",
	}
	for _, name := range invalid {
		err := dialect.ValidateTableName(name)
		if !errors.Is(err, dialect.ErrInvalidTableName) {
			t.Errorf("ValidateTableName(%q) = %v, want an error wrapping ErrInvalidTableName", name, err)
		}
		if _, err := s.d.CreateTable(name, codec.JSON); !errors.Is(err, dialect.ErrInvalidTableName) {
			t.Errorf("CreateTable(%q) = %v, want an error wrapping ErrInvalidTableName", name, err)
		}
		if _, err := s.d.DropTable(name); !errors.Is(err, dialect.ErrInvalidTableName) {
			t.Errorf("DropTable(%q) = %v, want an error wrapping ErrInvalidTableName", name, err)
		}
	}

	// Valid names that only quoting makes usable: reserved words of one
	// database or another, and the longest name.
	valid := []string{"select", "order", "key", "value", "table", "group", "user", "limit", "index", "desc",
		s.prefix + strings.Repeat("x", dialect.MaxTableName-len(s.prefix))}
	for _, name := range valid {
		if err := dialect.ValidateTableName(name); err != nil {
			t.Errorf("ValidateTableName(%q) = %v, want nil", name, err)
			continue
		}
		if s.exists(t, name) {
			t.Logf("table %q exists already: not used", name)
			continue
		}
		s.create(t, name, codec.JSON)
		s.put(t, name, codec.JSON, entry{key: "k", value: []byte(`1`)})
		if n := s.count(t, name); n != 1 {
			t.Errorf("table %q has %d rows, want 1", name, n)
		}
		drop, err := s.d.DropTable(name)
		if err != nil {
			t.Fatalf("DropTable(%q): %v", name, err)
		}
		s.exec(t, s.db, drop)
		if s.exists(t, name) {
			t.Errorf("table %q exists after %s", name, drop)
		}
	}
}

// testQuoting creates tables whose names ValidateTableName refuses, to show
// that QuoteIdent makes any name a single, safe identifier.
func (s *suite) testQuoting(t *testing.T) {
	for _, suffix := range []string{`dq"uote`, "back`tick", "it's", "semi;colon", "sp ace", "dot.ted", "ünï", `"`, "`"} {
		name := s.name(suffix)
		q := s.d.QuoteIdent(name)
		s.dropAtEnd(t, name)
		s.exec(t, s.db, `CREATE TABLE `+q+` (id INTEGER NOT NULL PRIMARY KEY)`)
		s.exec(t, s.db, s.d.Rebind(`INSERT INTO `+q+` (id) VALUES (?)`), 7)
		if n := s.count(t, name); n != 1 {
			t.Errorf("table %q has %d rows, want 1", name, n)
		}
		if !s.exists(t, name) {
			t.Errorf("TableExists(%q) = false after creating it as %s", name, q)
		}
		s.exec(t, s.db, `DROP TABLE `+q)
	}
}

func (s *suite) testCreateTable(t *testing.T) {
	for _, c := range []codec.Codec{codec.JSON, codec.Gob, codec.Raw} {
		t.Run(c.String(), func(t *testing.T) {
			name := s.name("codec_" + c.String())
			s.create(t, name, c)
			s.create(t, name, c) // IF NOT EXISTS
			if !s.exists(t, name) {
				t.Fatalf("TableExists(%q) = false after CreateTable", name)
			}

			value := []byte(`{"b": [1, 2.5, "x"], "a": null}`)
			if c.Binary() {
				value = []byte("\x00\xff binary \x80 not UTF-8 \x00")
			}
			at := time.Date(2026, 11, 27, 6, 25, 59, 37_000_000, time.FixedZone("UTC+1", 3600))
			want := entry{
				key:      `(n=30, s="ünï ' \" ;")`,
				args:     `{"n": 30, "s": "ünï ' \" ;"}`,
				value:    value,
				size:     int64(len(value)),
				hits:     3,
				created:  at,
				updated:  at.Add(time.Second),
				accessed: at.Add(2 * time.Second),
				expires:  at.Add(time.Hour),
			}
			s.put(t, name, c, want)
			got, ok := s.get(t, name, want.key)
			if !ok {
				t.Fatalf("entry %q not found after put", want.key)
			}
			checkEntry(t, got, want, !c.Binary())

			// A row without args and expiry reads back NULL as "" and the zero time.
			bare := entry{key: "bare", value: value, created: at, updated: at, accessed: at}
			s.put(t, name, c, bare)
			got, _ = s.get(t, name, bare.key)
			checkEntry(t, got, bare, !c.Binary())

			if !c.Binary() {
				// JSON columns refuse what is not JSON.
				bad := s.args(entry{key: "bad", value: []byte(`{not json`), created: at, updated: at, accessed: at}, c)
				query := s.upsert(t, dialect.Upsert{Table: name, Columns: columns, Key: []string{"key_hash"}, Rows: 1})
				if _, err := s.db.ExecContext(t.Context(), query, bad...); err == nil {
					t.Errorf("storing invalid JSON as a value succeeded, want an error")
				}
			}
		})
	}
	if _, err := s.d.CreateTable(s.name("bad_codec"), codec.Codec(99)); err == nil {
		t.Errorf("CreateTable with Codec(99) succeeded, want an error")
	}
}

// checkEntry compares an entry read back with the one written, comparing
// JSON by meaning (PostgreSQL's JSONB normalizes it) and times as instants.
func checkEntry(t *testing.T, got, want entry, isJSON bool) {
	t.Helper()
	if got.key != want.key {
		t.Errorf("key_text = %q, want %q", got.key, want.key)
	}
	if !sameJSON(t, got.args, want.args) {
		t.Errorf("args = %s, want %s", got.args, want.args)
	}
	if isJSON && !sameJSON(t, string(got.value), string(want.value)) || !isJSON && string(got.value) != string(want.value) {
		t.Errorf("value = %q, want %q", got.value, want.value)
	}
	if got.size != want.size || got.hits != want.hits {
		t.Errorf("size_bytes, hits = %d, %d, want %d, %d", got.size, got.hits, want.size, want.hits)
	}
	for _, c := range []struct {
		col       string
		got, want time.Time
	}{
		{"created_at", got.created, want.created},
		{"updated_at", got.updated, want.updated},
		{"accessed_at", got.accessed, want.accessed},
		{"expires_at", got.expires, want.expires},
	} {
		if !c.got.Equal(c.want) || c.got.Location() != time.UTC {
			t.Errorf("%s = %v, want %v in UTC", c.col, c.got, c.want.UTC())
		}
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	if a == "" || b == "" {
		return a == b
	}
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Errorf("read back invalid JSON %q: %v", a, err)
		return false
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatalf("test JSON %q: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// sqliteStamp is the stored form of timestamps on SQLite.
var sqliteStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func (s *suite) testTimestamps(t *testing.T) {
	name := s.name("times")
	s.create(t, name, codec.JSON)
	base := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	s.put(t, name, codec.JSON,
		entry{key: "past", value: []byte(`1`), created: base, updated: base, accessed: base, expires: base.Add(-time.Hour)},
		entry{key: "soon", value: []byte(`2`), created: base, updated: base, accessed: base, expires: base.Add(time.Millisecond)},
		entry{key: "later", value: []byte(`3`), created: base, updated: base, accessed: base, expires: base.Add(25 * time.Hour)},
		entry{key: "never", value: []byte(`4`), created: base, updated: base, accessed: base},
	)
	// Stored timestamps compare as times, whatever their stored form.
	t.Run("Compare", func(t *testing.T) {
		query := s.d.Rebind(`SELECT key_text FROM ` + s.d.QuoteIdent(name) + ` WHERE expires_at < ? ORDER BY expires_at`)
		rows, err := s.db.QueryContext(t.Context(), query, s.d.TimeArg(base.Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		var expired []string
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			expired = append(expired, k)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if want := []string{"past", "soon"}; !slices.Equal(expired, want) {
			t.Errorf("entries expired an hour later: %q, want %q", expired, want)
		}
	})
	// Column defaults fill in the current time, in the stored form.
	t.Run("Defaults", func(t *testing.T) {
		s.exec(t, s.db, s.d.Rebind(`INSERT INTO `+s.d.QuoteIdent(name)+` (key_hash, key_text, value) VALUES (?, ?, ?)`),
			hash("defaults"), "defaults", "5")
		got, ok := s.get(t, name, "defaults")
		if !ok {
			t.Fatal("row inserted with defaults not found")
		}
		if d := time.Since(got.created); d < -time.Hour || d > time.Hour {
			t.Errorf("created_at defaulted to %v, %v away from now; want now, in UTC", got.created, d)
		}
		if !got.expires.IsZero() || got.hits != 0 || got.size != 0 {
			t.Errorf("defaults: expires_at %v, hits %d, size_bytes %d; want zero", got.expires, got.hits, got.size)
		}
	})
	if s.d == dialect.SQLite {
		t.Run("SQLiteText", func(t *testing.T) {
			rows, err := s.db.QueryContext(t.Context(), `SELECT created_at, expires_at FROM `+s.d.QuoteIdent(name)+` WHERE expires_at IS NOT NULL`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var created, expires string
				if err := rows.Scan(&created, &expires); err != nil {
					t.Fatal(err)
				}
				for _, v := range []string{created, expires} {
					if !sqliteStamp.MatchString(v) {
						t.Errorf("stored timestamp %q, want the form 2026-01-02T03:04:05.006Z", v)
					}
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
	if s.d.TimeArg(time.Time{}) != nil {
		t.Errorf("TimeArg(zero time) = %v, want nil (NULL)", s.d.TimeArg(time.Time{}))
	}
	// The database's clock, plus a duration, is stored in the columns'
	// form and compares with them.
	t.Run("Clock", func(t *testing.T) {
		table := s.d.QuoteIdent(name)
		for _, d := range []time.Duration{90 * time.Minute, -90 * time.Minute} {
			s.exec(t, s.db, s.d.Rebind(`UPDATE `+table+` SET expires_at = `+s.d.NowPlus()+` WHERE key_text = ?`),
				s.d.DurationArg(d), "never")
			got, ok := s.get(t, name, "never")
			if !ok {
				t.Fatal("row not found")
			}
			if off := time.Until(got.expires) - d; off < -time.Minute || off > time.Minute {
				t.Errorf("NowPlus(%v) stored %v, %v off now plus %v", d, got.expires, off, d)
			}
			var live int
			query := `SELECT COUNT(*) FROM ` + table + ` WHERE key_text = 'never' AND expires_at > ` + s.d.Now()
			if err := s.db.QueryRowContext(t.Context(), query).Scan(&live); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 1, false: 0}[d > 0]; live != want {
				t.Errorf("expires_at = NowPlus(%v) > Now() holds for %d rows, want %d", d, live, want)
			}
		}
	})
}

func (s *suite) testUpsert(t *testing.T) {
	name := s.name("upsert")
	s.create(t, name, codec.JSON)
	t1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)

	first := entry{key: "k", args: `[1]`, value: []byte(`"one"`), size: 5, created: t1, updated: t1, accessed: t1, expires: t1.Add(time.Hour)}
	s.put(t, name, codec.JSON, first)
	second := entry{key: "k", value: []byte(`"two"`), size: 5, hits: 9, created: t2, updated: t2, accessed: t2}
	s.put(t, name, codec.JSON, second)

	// Updated columns take the new values; hits and created_at keep the stored ones.
	want := second
	want.hits, want.created = first.hits, first.created
	got, _ := s.get(t, name, "k")
	checkEntry(t, got, want, true)
	if n := s.count(t, name); n != 1 {
		t.Errorf("%d rows after two upserts of one key, want 1", n)
	}

	t.Run("MultiRow", func(t *testing.T) {
		// One existing key among new ones.
		third := entry{key: "k", value: []byte(`"three"`), created: t2, updated: t2, accessed: t2}
		a := entry{key: "a", value: []byte(`"a"`), created: t2, updated: t2, accessed: t2}
		b := entry{key: "b", value: []byte(`"b"`), created: t2, updated: t2, accessed: t2}
		s.put(t, name, codec.JSON, a, third, b)
		if n := s.count(t, name); n != 3 {
			t.Errorf("%d rows, want 3", n)
		}
		got, _ := s.get(t, name, "k")
		if string(got.value) != `"three"` {
			t.Errorf("value of k = %s, want \"three\"", got.value)
		}
	})

	t.Run("DoNothing", func(t *testing.T) {
		query := s.upsert(t, dialect.Upsert{Table: name, Columns: columns, Key: []string{"key_hash"}, Rows: 2})
		ignored := entry{key: "k", value: []byte(`"ignored"`), created: t2, updated: t2, accessed: t2}
		fresh := entry{key: "fresh", value: []byte(`"fresh"`), created: t2, updated: t2, accessed: t2}
		s.exec(t, s.db, query, append(s.args(ignored, codec.JSON), s.args(fresh, codec.JSON)...)...)
		if got, _ := s.get(t, name, "k"); string(got.value) != `"three"` {
			t.Errorf("value of k = %s after an upsert without updates, want \"three\" kept", got.value)
		}
		if _, ok := s.get(t, name, "fresh"); !ok {
			t.Errorf("new row of an upsert without updates not inserted")
		}
	})
}

// testUpsertMany writes one statement with exactly MaxPlaceholders
// arguments: three columns divide both 32766 and 65535.
func (s *suite) testUpsertMany(t *testing.T) {
	name := s.name("many")
	s.create(t, name, codec.JSON)
	cols := []string{"key_hash", "key_text", "value"}
	rows := s.d.MaxPlaceholders() / len(cols)
	if rows*len(cols) != s.d.MaxPlaceholders() {
		t.Fatalf("MaxPlaceholders() = %d, not a multiple of 3: the test needs another column count", s.d.MaxPlaceholders())
	}
	u := dialect.Upsert{Table: name, Columns: cols, Key: []string{"key_hash"}, Update: []string{"value"}, Rows: rows}
	query := s.upsert(t, u)
	write := func(value string) {
		args := make([]any, 0, rows*len(cols))
		for i := range rows {
			key := fmt.Sprintf("(i=%d)", i)
			args = append(args, hash(key), key, value)
		}
		s.exec(t, s.db, query, args...)
	}
	write(`"first"`)
	write(`"second"`)
	if n := s.count(t, name); n != rows {
		t.Errorf("%d rows after upserting %d rows twice, want %d", n, rows, rows)
	}
	if got, _ := s.get(t, name, fmt.Sprintf("(i=%d)", rows-1)); string(got.value) != `"second"` {
		t.Errorf("value of the last row = %s, want \"second\"", got.value)
	}

	u.Rows++
	if _, err := s.d.Upsert(u); err == nil {
		t.Errorf("Upsert with %d arguments succeeded, want an error beyond MaxPlaceholders %d", u.Rows*len(cols), s.d.MaxPlaceholders())
	}
}

func (s *suite) testRebind(t *testing.T) {
	name := s.name("rebind")
	s.create(t, name, codec.JSON)
	s.put(t, name, codec.JSON, entry{key: "?", value: []byte(`"?"`)}, entry{key: "x", value: []byte(`"x"`)})
	query := s.d.Rebind(`SELECT count(*) FROM ` + s.d.QuoteIdent(name) + ` WHERE key_text <> '?' AND (key_text = ? OR key_text = ?)`)
	var n int
	if err := s.db.QueryRowContext(t.Context(), query, "x", "?").Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n != 1 {
		t.Errorf("%s counted %d rows, want 1", query, n)
	}
}

func (s *suite) testTables(t *testing.T) {
	b, a := s.name("list_b"), s.name("list_a")
	s.create(t, b, codec.Raw)
	s.create(t, a, codec.JSON)
	tables, err := s.d.Tables(t.Context(), s.db)
	if err != nil {
		t.Fatalf("Tables: %v", err)
	}
	if !slices.IsSorted(tables) {
		t.Errorf("Tables() = %q, not sorted", tables)
	}
	i, j := slices.Index(tables, a), slices.Index(tables, b)
	if i < 0 || j < 0 {
		t.Fatalf("Tables() = %q, want %q and %q among them", tables, a, b)
	}
	for _, name := range tables {
		if strings.HasPrefix(name, "sqlite_") {
			t.Errorf("Tables() lists SQLite's internal table %q", name)
		}
	}
	drop, _ := s.d.DropTable(b)
	s.exec(t, s.db, drop)
	if s.exists(t, b) {
		t.Errorf("TableExists(%q) = true after dropping it", b)
	}
	if s.exists(t, s.name("never_created")) {
		t.Errorf("TableExists reports a table that was never created")
	}
}

func (s *suite) testDDLLock(t *testing.T) {
	t.Run("ConcurrentCreate", func(t *testing.T) {
		name := s.name("ddl")
		stmts, err := s.d.CreateTable(name, codec.JSON)
		if err != nil {
			t.Fatal(err)
		}
		s.dropAtEnd(t, name)
		const creators = 8
		var inside, most atomic.Int32
		errs := make([]error, creators)
		var wg sync.WaitGroup
		for i := range creators {
			wg.Go(func() {
				errs[i] = s.d.WithDDLLock(t.Context(), s.db, name, func(ctx context.Context, q dialect.Querier) error {
					n := inside.Add(1)
					defer inside.Add(-1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					for _, stmt := range stmts {
						if _, err := q.ExecContext(ctx, stmt); err != nil {
							return err
						}
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("creator %d: %v", i, err)
			}
		}
		if m := most.Load(); m != 1 {
			t.Errorf("%d creators held the DDL lock at once, want 1", m)
		}
		if !s.exists(t, name) {
			t.Errorf("table %q missing after concurrent creation", name)
		}
	})

	t.Run("Error", func(t *testing.T) {
		name := s.name("ddl_fail")
		stmts, _ := s.d.CreateTable(name, codec.JSON)
		s.dropAtEnd(t, name)
		errFn := errors.New("fn failed")
		err := s.d.WithDDLLock(t.Context(), s.db, name, func(ctx context.Context, q dialect.Querier) error {
			for _, stmt := range stmts {
				if _, err := q.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			return errFn
		})
		if !errors.Is(err, errFn) {
			t.Fatalf("WithDDLLock returned %v, want fn's error", err)
		}
		// SQLite and PostgreSQL roll DDL back; MySQL commits it implicitly.
		if got, want := s.exists(t, name), s.d == dialect.MySQL; got != want {
			t.Errorf("after fn failed, TableExists = %v, want %v", got, want)
		}
	})
}

func (s *suite) testErrors(t *testing.T) {
	locks := s.name("locks")
	s.dropAtEnd(t, locks)
	s.exec(t, s.db, `CREATE TABLE `+s.d.QuoteIdent(locks)+` (id INTEGER NOT NULL PRIMARY KEY, n INTEGER NOT NULL)`)
	s.exec(t, s.db, `INSERT INTO `+s.d.QuoteIdent(locks)+` (id, n) VALUES (1, 0), (2, 0)`)

	unrelated := errors.New("unrelated")
	for _, c := range []struct {
		name string
		is   func(error) bool
	}{
		{"IsBusy", dialect.IsBusy}, {"IsDeadlock", dialect.IsDeadlock}, {"IsSerialization", dialect.IsSerialization},
		{"Retryable", dialect.Retryable}, {"IsTooLarge", dialect.IsTooLarge}, {"IsMissingTable", dialect.IsMissingTable},
		{"IsUniqueViolation", dialect.IsUniqueViolation},
	} {
		if c.is(nil) || c.is(unrelated) || c.is(fmt.Errorf("wrapped: %w", unrelated)) {
			t.Errorf("%s reports true for nil or an unrelated error", c.name)
		}
	}

	t.Run("MissingTable", func(t *testing.T) {
		_, err := s.db.ExecContext(t.Context(), `SELECT * FROM `+s.d.QuoteIdent(s.name("missing")))
		expect(t, err, dialect.IsMissingTable, "IsMissingTable")
		expectNot(t, err, dialect.Retryable, "Retryable")
		expectNot(t, err, dialect.IsUniqueViolation, "IsUniqueViolation")
	})

	t.Run("UniqueViolation", func(t *testing.T) {
		insert := `INSERT INTO ` + s.d.QuoteIdent(locks) + ` (id, n) VALUES (1, 0)`
		_, err := s.db.ExecContext(t.Context(), insert)
		expect(t, err, dialect.IsUniqueViolation, "IsUniqueViolation")
		expectNot(t, err, dialect.IsMissingTable, "IsMissingTable")
		expectNot(t, err, dialect.Retryable, "Retryable")
	})

	t.Run("TooLarge", func(t *testing.T) {
		expect(t, s.provokeTooLarge(t), dialect.IsTooLarge, "IsTooLarge")
	})

	t.Run("TooLargeSent", func(t *testing.T) {
		if s.d != dialect.MySQL {
			t.Skipf("%s accepts values far larger than a test should send", s.d)
		}
		expect(t, s.sendTooLarge(t), dialect.IsTooLarge, "IsTooLarge")
	})

	t.Run("Busy", func(t *testing.T) {
		err := s.provokeBusy(t, locks)
		expect(t, err, dialect.IsBusy, "IsBusy")
		expect(t, err, dialect.Retryable, "Retryable")
		expectNot(t, err, dialect.IsDeadlock, "IsDeadlock")
	})

	t.Run("Deadlock", func(t *testing.T) {
		if s.d == dialect.SQLite {
			t.Skip("SQLite reports lock conflicts as busy errors, never as deadlocks")
		}
		err := s.provokeDeadlock(t, locks)
		expect(t, err, dialect.IsDeadlock, "IsDeadlock")
		expect(t, err, dialect.Retryable, "Retryable")
		expectNot(t, err, dialect.IsBusy, "IsBusy")
	})

	t.Run("Serialization", func(t *testing.T) {
		if s.d != dialect.Postgres {
			t.Skipf("%s reports no serialization failures; conflicts are deadlocks or busy errors", s.d)
		}
		err := s.provokeSerialization(t, locks)
		expect(t, err, dialect.IsSerialization, "IsSerialization")
		expect(t, err, dialect.Retryable, "Retryable")
		expectNot(t, err, dialect.IsDeadlock, "IsDeadlock")
	})
}

// expect checks that err, alone and wrapped, satisfies is.
func expect(t *testing.T, err error, is func(error) bool, name string) {
	t.Helper()
	if err == nil {
		t.Fatalf("the database returned no error, want one for %s", name)
	}
	for _, e := range []error{err, fmt.Errorf("op: %w", err), errors.Join(errors.New("first"), fmt.Errorf("op: %w", err))} {
		if !is(e) {
			t.Errorf("%s(%v) = false, want true", name, e)
		}
	}
}

func expectNot(t *testing.T, err error, is func(error) bool, name string) {
	t.Helper()
	if is(err) {
		t.Errorf("%s(%v) = true, want false", name, err)
	}
}

// conn returns a connection of its own that is discarded, not pooled, when
// the test ends, so session settings never leak into the pool.
func (s *suite) conn(t *testing.T) *sql.Conn {
	t.Helper()
	if s.db.Stats().MaxOpenConnections == 1 {
		t.Skip("needs a pool of at least two connections")
	}
	c, err := s.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Raw(func(any) error { return driver.ErrBadConn })
		_ = c.Close()
	})
	return c
}

func (s *suite) provokeTooLarge(t *testing.T) error {
	ctx := t.Context()
	switch s.d {
	case dialect.SQLite:
		// Larger than SQLITE_MAX_LENGTH, refused before any memory is used.
		var n int
		return s.db.QueryRowContext(ctx, `SELECT length(zeroblob(2000000000))`).Scan(&n)
	case dialect.Postgres:
		// An index entry beyond the btree limit (54000).
		big := s.name("big")
		s.dropAtEnd(t, big)
		s.exec(t, s.db, `CREATE TABLE `+s.d.QuoteIdent(big)+` (t TEXT PRIMARY KEY)`)
		_, err := s.db.ExecContext(ctx, `INSERT INTO `+s.d.QuoteIdent(big)+
			` SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 400)`)
		return err
	default:
		// A value beyond max_allowed_packet, made by the server (1301 in
		// strict mode) rather than sent over the network.
		c := s.conn(t)
		s.exec(t, c, `SET SESSION sql_mode = 'STRICT_ALL_TABLES'`)
		big := s.name("big")
		s.dropAtEnd(t, big)
		s.exec(t, c, `CREATE TABLE `+s.d.QuoteIdent(big)+` (v LONGBLOB)`)
		_, err := c.ExecContext(ctx, `INSERT INTO `+s.d.QuoteIdent(big)+` (v) VALUES (REPEAT('x', @@max_allowed_packet + 1))`)
		return err
	}
}

// sendTooLarge sends MySQL a value larger than max_allowed_packet, which the
// server refuses (1153) before closing the connection.
func (s *suite) sendTooLarge(t *testing.T) error {
	c := s.conn(t)
	var limit int
	if err := c.QueryRowContext(t.Context(), `SELECT @@max_allowed_packet`).Scan(&limit); err != nil {
		t.Fatal(err)
	}
	// go-sql-driver refuses packets over its own limit, 64 MiB by default,
	// before sending them.
	if limit >= 32<<20 {
		t.Skipf("max_allowed_packet is %d bytes: too large to exceed in a test", limit)
	}
	big := s.name("sent")
	s.dropAtEnd(t, big)
	s.exec(t, s.db, `CREATE TABLE `+s.d.QuoteIdent(big)+` (v LONGBLOB)`)
	_, err := c.ExecContext(t.Context(), `INSERT INTO `+s.d.QuoteIdent(big)+` (v) VALUES (?)`, make([]byte, limit+1))
	return err
}

// provokeBusy holds a lock in one transaction and asks for it, without
// waiting, from another connection.
func (s *suite) provokeBusy(t *testing.T, locks string) error {
	ctx := t.Context()
	other := s.conn(t)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	q := s.d.QuoteIdent(locks)
	if s.d == dialect.SQLite {
		s.exec(t, tx, `UPDATE `+q+` SET n = n + 1 WHERE id = 1`) // takes the write lock
		s.exec(t, other, `PRAGMA busy_timeout = 0`)
		_, err = other.ExecContext(ctx, `UPDATE `+q+` SET n = n + 1 WHERE id = 2`)
		return err
	}
	s.exec(t, tx, `SELECT n FROM `+q+` WHERE id = 1 FOR UPDATE`)
	otx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = otx.Rollback() }()
	_, err = otx.ExecContext(ctx, `SELECT n FROM `+q+` WHERE id = 1 FOR UPDATE NOWAIT`)
	return err
}

// provokeDeadlock makes two transactions each wait for a row the other
// holds. Whichever order the two waits start in, the database must break the
// cycle by failing one of them.
func (s *suite) provokeDeadlock(t *testing.T, locks string) error {
	ctx := t.Context()
	update := s.d.Rebind(`UPDATE ` + s.d.QuoteIdent(locks) + ` SET n = n + 1 WHERE id = ?`)
	var txs [2]*sql.Tx
	for i := range txs {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback() }()
		s.exec(t, tx, update, i+1) // transaction i holds row i+1
		txs[i] = tx
	}
	errs := make(chan error, 2)
	for i, tx := range txs {
		go func() {
			_, err := tx.ExecContext(ctx, update, 2-i) // and wants the other row
			if err != nil {
				_ = tx.Rollback() // release the locks so the other one finishes
			}
			errs <- err
		}()
	}
	var failed []error
	for range txs {
		if err := <-errs; err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) != 1 {
		t.Fatalf("%d of 2 deadlocked transactions failed, want 1: %v", len(failed), failed)
	}
	return failed[0]
}

// provokeSerialization updates, in a REPEATABLE READ transaction, a row that
// another transaction changed after the snapshot was taken.
func (s *suite) provokeSerialization(t *testing.T, locks string) error {
	ctx := t.Context()
	q := s.d.QuoteIdent(locks)
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT n FROM `+q+` WHERE id = 1`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	s.exec(t, s.db, `UPDATE `+q+` SET n = n + 1 WHERE id = 1`)
	_, err = tx.ExecContext(ctx, `UPDATE `+q+` SET n = n + 1 WHERE id = 1`)
	return err
}

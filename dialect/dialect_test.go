package dialect_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/lib/pq"
	"github.com/mattn/go-sqlite3"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
)

var all = []*dialect.Dialect{dialect.SQLite, dialect.MySQL, dialect.Postgres}

func TestLookup(t *testing.T) {
	for name, want := range map[string]*dialect.Dialect{
		"sqlite": dialect.SQLite, "sqlite3": dialect.SQLite,
		"mysql": dialect.MySQL, "mariadb": dialect.MySQL,
		"postgres": dialect.Postgres, "postgresql": dialect.Postgres,
	} {
		if got, err := dialect.Lookup(name); got != want || err != nil {
			t.Errorf("Lookup(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	for _, name := range []string{"", "pgx", "SQLite", "oracle"} {
		if got, err := dialect.Lookup(name); got != nil || err == nil {
			t.Errorf("Lookup(%q) = %v, %v; want an error", name, got, err)
		}
	}
	for _, d := range all {
		if got, _ := dialect.Lookup(d.Name()); got != d || d.String() != d.Name() {
			t.Errorf("Lookup(%q) = %v, want %v", d.Name(), got, d)
		}
	}
}

func TestQuoteIdent(t *testing.T) {
	tests := []struct {
		name, sqlite, mysql string
	}{
		{"fib", `"fib"`, "`fib`"},
		{`a"b`, `"a""b"`, "`a\"b`"},
		{"a`b", "\"a`b\"", "`a``b`"},
		{`"; DROP TABLE x; --`, `"""; DROP TABLE x; --"`, "`\"; DROP TABLE x; --`"},
		{"", `""`, "``"},
	}
	for _, tc := range tests {
		if got := dialect.SQLite.QuoteIdent(tc.name); got != tc.sqlite {
			t.Errorf("SQLite.QuoteIdent(%q) = %s, want %s", tc.name, got, tc.sqlite)
		}
		if got := dialect.Postgres.QuoteIdent(tc.name); got != tc.sqlite {
			t.Errorf("Postgres.QuoteIdent(%q) = %s, want %s", tc.name, got, tc.sqlite)
		}
		if got := dialect.MySQL.QuoteIdent(tc.name); got != tc.mysql {
			t.Errorf("MySQL.QuoteIdent(%q) = %s, want %s", tc.name, got, tc.mysql)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	if got := dialect.Postgres.Placeholder(3); got != "$3" {
		t.Errorf("Postgres.Placeholder(3) = %q", got)
	}
	if got := dialect.MySQL.Placeholder(3); got != "?" {
		t.Errorf("MySQL.Placeholder(3) = %q", got)
	}
	if got := dialect.Postgres.Placeholders(4, 3); got != "$4, $5, $6" {
		t.Errorf("Postgres.Placeholders(4, 3) = %q", got)
	}
	if got := dialect.SQLite.Placeholders(4, 3); got != "?, ?, ?" {
		t.Errorf("SQLite.Placeholders(4, 3) = %q", got)
	}
	if got := dialect.SQLite.Placeholders(1, 0); got != "" {
		t.Errorf("SQLite.Placeholders(1, 0) = %q", got)
	}
	for d, want := range map[*dialect.Dialect]int{dialect.SQLite: 32766, dialect.MySQL: 65535, dialect.Postgres: 65535} {
		if got := d.MaxPlaceholders(); got != want {
			t.Errorf("%v.MaxPlaceholders() = %d, want %d", d, got, want)
		}
	}
}

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`a = ? AND b = ?`, `a = $1 AND b = $2`},
		{`a = '?' AND b = ?`, `a = '?' AND b = $1`},
		{`a = 'it''s ?' AND "col?" = ? OR c = ?`, `a = 'it''s ?' AND "col?" = $1 OR c = $2`},
		{`"a""?" = ?`, `"a""?" = $1`},
		{`x = ?`, `x = $1`},
		{`'unterminated ?`, `'unterminated ?`},
	}
	for _, tc := range tests {
		if got := dialect.Postgres.Rebind(tc.in); got != tc.want {
			t.Errorf("Postgres.Rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := dialect.MySQL.Rebind(tc.in); got != tc.in {
			t.Errorf("MySQL.Rebind(%q) = %q, want it unchanged", tc.in, got)
		}
	}
}

func TestValidateTableName(t *testing.T) {
	tests := []struct {
		name    string
		problem string // "" for a valid name
	}{
		{"fib", ""},
		{"a", ""},
		{"fib_2_x", ""},
		{"select", ""},
		{strings.Repeat("a", 48), ""},
		{"", "empty"},
		{"Fib", `upper-case letter 'F' at byte 0`},
		{"fib;drop", `semicolon at byte 3`},
		{`fi"b`, `quote character '"' at byte 2`},
		{"fi`b", "quote character '`' at byte 2"},
		{"fi'b", `quote character '\'' at byte 2`},
		{"fi b", `white space ' ' at byte 2`},
		{"fïb", `non-ASCII character 'ï' at byte 1`},
		{"fib\xff", `invalid UTF-8 at byte 3`},
		{"1fib", `starts with '1'`},
		{"_fib", `starts with '_'`},
		{"fib-2", `character '-' at byte 3`},
		{strings.Repeat("a", 49), `49 bytes long; the limit is 48`},
		{"sqlite_master", `the prefix "sqlite_" is reserved`},
		{"pg_x", `the prefix "pg_" is reserved`},
		{"klepto_archives", `the prefix "klepto_" is reserved`},
	}
	for _, tc := range tests {
		err := dialect.ValidateTableName(tc.name)
		if tc.problem == "" {
			if err != nil {
				t.Errorf("ValidateTableName(%q) = %v, want nil", tc.name, err)
			}
			continue
		}
		var ne *dialect.TableNameError
		if !errors.Is(err, dialect.ErrInvalidTableName) || !errors.As(err, &ne) ||
			ne.Name != tc.name || !strings.HasPrefix(ne.Problem, tc.problem) {
			t.Errorf("ValidateTableName(%q) = %v, want a *TableNameError saying %q", tc.name, err, tc.problem)
			continue
		}
		// The name once, then the problem.
		if want := fmt.Sprintf("dialect: invalid table name %q: %s", tc.name, ne.Problem); err.Error() != want {
			t.Errorf("ValidateTableName(%q) = %q, want %q", tc.name, err, want)
		}
	}
}

func TestUpsertSQL(t *testing.T) {
	u := dialect.Upsert{Table: "fib", Columns: []string{"key_hash", "value", "hits"}, Key: []string{"key_hash"}, Update: []string{"value"}, Rows: 2}
	want := map[*dialect.Dialect]string{
		dialect.SQLite:   `INSERT INTO "fib" ("key_hash", "value", "hits") VALUES (?, ?, ?), (?, ?, ?) ON CONFLICT ("key_hash") DO UPDATE SET "value" = excluded."value"`,
		dialect.Postgres: `INSERT INTO "fib" ("key_hash", "value", "hits") VALUES ($1, $2, $3), ($4, $5, $6) ON CONFLICT ("key_hash") DO UPDATE SET "value" = EXCLUDED."value"`,
		dialect.MySQL:    "INSERT INTO `fib` (`key_hash`, `value`, `hits`) VALUES (?, ?, ?), (?, ?, ?) ON DUPLICATE KEY UPDATE `value` = VALUES(`value`)",
	}
	for d, w := range want {
		if got, err := d.Upsert(u); got != w || err != nil {
			t.Errorf("%v.Upsert:\n got %s, %v\nwant %s", d, got, err, w)
		}
	}
	u.Update, u.Rows = nil, 1
	want = map[*dialect.Dialect]string{
		dialect.SQLite:   `INSERT INTO "fib" ("key_hash", "value", "hits") VALUES (?, ?, ?) ON CONFLICT ("key_hash") DO NOTHING`,
		dialect.Postgres: `INSERT INTO "fib" ("key_hash", "value", "hits") VALUES ($1, $2, $3) ON CONFLICT ("key_hash") DO NOTHING`,
		dialect.MySQL:    "INSERT INTO `fib` (`key_hash`, `value`, `hits`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `key_hash` = `key_hash`",
	}
	for d, w := range want {
		if got, err := d.Upsert(u); got != w || err != nil {
			t.Errorf("%v.Upsert without updates:\n got %s, %v\nwant %s", d, got, err, w)
		}
	}
}

func TestUpsertErrors(t *testing.T) {
	valid := func() dialect.Upsert {
		return dialect.Upsert{Table: "t", Columns: []string{"k", "v"}, Key: []string{"k"}, Update: []string{"v"}, Rows: 1}
	}
	tests := []struct {
		name   string
		change func(*dialect.Upsert)
		want   string
	}{
		{"NoTable", func(u *dialect.Upsert) { u.Table = "" }, "no table"},
		{"NoColumns", func(u *dialect.Upsert) { u.Columns = nil }, "no columns"},
		{"NoKey", func(u *dialect.Upsert) { u.Key = nil }, "no key columns"},
		{"NoRows", func(u *dialect.Upsert) { u.Rows = 0 }, "0 rows"},
		{"EmptyColumn", func(u *dialect.Upsert) { u.Columns = []string{"k", ""} }, "column 1 has no name"},
		{"DuplicateColumn", func(u *dialect.Upsert) { u.Columns = []string{"k", "v", "k"} }, `column "k" listed twice`},
		{"ForeignKey", func(u *dialect.Upsert) { u.Key = []string{"x"} }, `key column "x" is not among`},
		{"ForeignUpdate", func(u *dialect.Upsert) { u.Update = []string{"x"} }, `update column "x" is not among`},
		{"UpdateKey", func(u *dialect.Upsert) { u.Update = []string{"k"} }, `update column "k" is a key column`},
		{"TooMany", func(u *dialect.Upsert) { u.Rows = 16384 }, "16384 rows of 2 columns need 32768 arguments; sqlite allows 32766"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := valid()
			tc.change(&u)
			_, err := dialect.SQLite.Upsert(u)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "dialect: upsert into ") {
				t.Errorf("Upsert = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestCreateTableSQL(t *testing.T) {
	valueType := map[*dialect.Dialect][2]string{ // JSON, binary
		dialect.SQLite:   {`"value" TEXT NOT NULL CHECK (json_valid("value"))`, `"value" BLOB NOT NULL`},
		dialect.Postgres: {`"value" JSONB NOT NULL`, `"value" BYTEA NOT NULL`},
		dialect.MySQL:    {"`value` JSON NOT NULL", "`value` LONGBLOB NOT NULL"},
	}
	for _, d := range all {
		for _, c := range []codec.Codec{codec.JSON, codec.Gob, codec.Raw} {
			stmts, err := d.CreateTable("fib", c)
			if err != nil {
				t.Fatal(err)
			}
			ddl := strings.Join(stmts, ";\n")
			value := valueType[d][0]
			if c.Binary() {
				value = valueType[d][1]
			}
			for _, want := range []string{"CREATE TABLE IF NOT EXISTS " + d.QuoteIdent("fib") + " (", d.QuoteIdent("klepto_ix_fib_exp"), "  " + value + ",\n"} {
				if !strings.Contains(ddl, want) {
					t.Errorf("%v.CreateTable(fib, %v) lacks %s:\n%s", d, c, want, ddl)
				}
			}
		}
	}
	if _, err := dialect.MySQL.CreateTable("Fib", codec.JSON); !errors.Is(err, dialect.ErrInvalidTableName) {
		t.Errorf("CreateTable(Fib) = %v, want ErrInvalidTableName", err)
	}
	if drop, err := dialect.MySQL.DropTable("fib"); drop != "DROP TABLE IF EXISTS `fib`" || err != nil {
		t.Errorf("MySQL.DropTable(fib) = %q, %v", drop, err)
	}
}

func TestTimeArg(t *testing.T) {
	at := time.Date(2026, 11, 27, 7, 25, 59, 37_654_321, time.FixedZone("UTC+1", 3600))
	if got := dialect.SQLite.TimeArg(at); got != "2026-11-27T06:25:59.037Z" {
		t.Errorf("SQLite.TimeArg = %v", got)
	}
	if got := dialect.MySQL.TimeArg(at); got != "2026-11-27 06:25:59.037654" {
		t.Errorf("MySQL.TimeArg = %v", got)
	}
	if got := dialect.Postgres.TimeArg(at); got != at {
		t.Errorf("Postgres.TimeArg = %v", got)
	}
	for _, d := range all {
		if got := d.TimeArg(time.Time{}); got != nil {
			t.Errorf("%v.TimeArg(zero) = %v, want nil", d, got)
		}
	}
}

func TestScanTime(t *testing.T) {
	utc := time.Date(2026, 11, 27, 6, 25, 59, 37_000_000, time.UTC)
	// What a MySQL driver with parseTime=true&loc=Local returns for a UTC DATETIME.
	wallInPlus5 := time.Date(2026, 11, 27, 6, 25, 59, 37_000_000, time.FixedZone("UTC+5", 5*3600))
	tests := []struct {
		d    *dialect.Dialect
		src  any
		want time.Time
	}{
		{dialect.SQLite, "2026-11-27T06:25:59.037Z", utc},
		{dialect.SQLite, []byte("2026-11-27T06:25:59.037Z"), utc},
		{dialect.SQLite, "2026-11-27 06:25:59.037", utc},
		{dialect.SQLite, "2026-11-27T07:25:59.037+01:00", utc},
		{dialect.SQLite, "2026-11-27", time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)},
		{dialect.SQLite, nil, time.Time{}},
		{dialect.MySQL, []byte("2026-11-27 06:25:59.037000"), utc},
		{dialect.MySQL, wallInPlus5, utc},
		{dialect.MySQL, nil, time.Time{}},
		{dialect.Postgres, utc.In(time.FixedZone("UTC+5", 5*3600)), utc},
		{dialect.Postgres, "2026-11-27T06:25:59.037Z", utc},
	}
	for _, tc := range tests {
		got := time.Unix(1, 0)
		if err := tc.d.ScanTime(&got).Scan(tc.src); err != nil {
			t.Errorf("%v.ScanTime(%v): %v", tc.d, tc.src, err)
			continue
		}
		if !got.Equal(tc.want) || !got.IsZero() && got.Location() != time.UTC {
			t.Errorf("%v.ScanTime(%#v) = %v, want %v", tc.d, tc.src, got, tc.want)
		}
	}
	var got time.Time
	for _, src := range []any{"yesterday", int64(12), 1.5} {
		if err := dialect.SQLite.ScanTime(&got).Scan(src); err == nil {
			t.Errorf("ScanTime(%#v) succeeded, want an error", src)
		}
	}
}

func TestSQLiteDSN(t *testing.T) {
	got := dialect.SQLiteDSN("/data/my cache?#%.db")
	want := "file:/data/my%20cache%3F%23%25.db?_journal_mode=WAL&_busy_timeout=100&_txlock=immediate&_synchronous=NORMAL"
	if got != want {
		t.Errorf("SQLiteDSN = %s\nwant %s", got, want)
	}
	if got := dialect.SQLiteReaderDSN("x.db"); strings.Contains(got, "_txlock") || !strings.Contains(got, "_query_only=true") {
		t.Errorf("SQLiteReaderDSN = %s, want _query_only and no _txlock", got)
	}
}

// TestClassifyDriverErrors covers the codes the conformance suite cannot
// provoke quickly, on errors built as each driver builds them.
func TestClassifyDriverErrors(t *testing.T) {
	tests := []struct {
		err  error
		want string // the classifier expected to match, or ""
	}{
		{sqlite3.Error{Code: sqlite3.ErrBusy, ExtendedCode: sqlite3.ErrBusy.Extend(2)}, "busy"}, // BUSY_SNAPSHOT
		{sqlite3.Error{Code: sqlite3.ErrLocked}, "busy"},
		{sqlite3.ErrBusy, "busy"},
		{sqlite3.ErrBusy.Extend(2), "busy"},
		{&sqlite3.Error{Code: sqlite3.ErrBusy}, "busy"},
		{sqlite3.Error{Code: sqlite3.ErrTooBig}, "toolarge"},
		{sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintPrimaryKey}, "unique"},
		{sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintNotNull}, ""},
		{sqlite3.Error{Code: sqlite3.ErrError}, ""},
		{&mysql.MySQLError{Number: 1205}, "busy"},
		{&mysql.MySQLError{Number: 3572}, "busy"},
		{&mysql.MySQLError{Number: 1213, SQLState: [5]byte{'4', '0', '0', '0', '1'}}, "deadlock"},
		{&mysql.MySQLError{Number: 1153}, "toolarge"},
		{&mysql.MySQLError{Number: 1406}, "toolarge"},
		{&mysql.MySQLError{Number: 1146}, "missing"},
		{&mysql.MySQLError{Number: 1062}, "unique"},
		{&mysql.MySQLError{Number: 1064}, ""},
		{(*mysql.MySQLError)(nil), ""},
		{&pq.Error{Code: "55P03"}, "busy"},
		{&pq.Error{Code: "40P01"}, "deadlock"},
		{&pq.Error{Code: "40001"}, "serialization"},
		{&pq.Error{Code: "54000"}, "toolarge"},
		{&pq.Error{Code: "42P01"}, "missing"},
		{&pq.Error{Code: "23505"}, "unique"},
		{&pq.Error{Code: "42601"}, ""},
		{sqlStateError("40P01"), "deadlock"}, // pgx's *pgconn.PgError has the same method
		{mysql.ErrInvalidConn, ""},
	}
	classifiers := map[string]func(error) bool{
		"busy": dialect.IsBusy, "deadlock": dialect.IsDeadlock, "serialization": dialect.IsSerialization,
		"toolarge": dialect.IsTooLarge, "missing": dialect.IsMissingTable, "unique": dialect.IsUniqueViolation,
	}
	for _, tc := range tests {
		for name, is := range classifiers {
			for _, err := range []error{tc.err, fmt.Errorf("op: %w", tc.err), errors.Join(errors.New("x"), tc.err)} {
				if got := is(err); got != (name == tc.want) {
					t.Errorf("%s(%#v) = %v, want %v", name, err, got, !got)
				}
			}
		}
		retryable := tc.want == "busy" || tc.want == "deadlock" || tc.want == "serialization"
		if got := dialect.Retryable(tc.err); got != retryable {
			t.Errorf("Retryable(%#v) = %v, want %v", tc.err, got, retryable)
		}
	}
}

type sqlStateError string

func (e sqlStateError) Error() string    { return "pgx: " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

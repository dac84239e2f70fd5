package main

import (
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		in      string
		dialect *dialect.Dialect
		dsn     string // the driver's DSN
		shown   string
	}{
		{"sqlite:klepto.db", dialect.SQLite, dialect.SQLiteDSN("klepto.db"), "sqlite:klepto.db"},
		{"sqlite:/var/cache/app.db", dialect.SQLite, dialect.SQLiteDSN("/var/cache/app.db"), "sqlite:/var/cache/app.db"},
		{"sqlite:///var/cache/app.db", dialect.SQLite, dialect.SQLiteDSN("/var/cache/app.db"), "sqlite:///var/cache/app.db"},
		{"SQLite3:cache", dialect.SQLite, dialect.SQLiteDSN("cache"), "SQLite3:cache"},
		{"cache.db", dialect.SQLite, dialect.SQLiteDSN("cache.db"), "cache.db"},
		{"./data/Cache.SQLITE", dialect.SQLite, dialect.SQLiteDSN("./data/Cache.SQLITE"), "./data/Cache.SQLITE"},
		{
			"postgres://app:s3cret@db.internal:5432/app?sslmode=disable&search_path=cache",
			dialect.Postgres,
			"postgres://app:s3cret@db.internal:5432/app?sslmode=disable&search_path=cache",
			"postgres://app:xxxxx@db.internal:5432/app?sslmode=disable&search_path=cache",
		},
		{"postgresql:///app?host=/run/postgresql", dialect.Postgres, "postgresql:///app?host=/run/postgresql", "postgresql:///app?host=/run/postgresql"},
		{
			"mysql://app:s3cret@db.internal/app",
			dialect.MySQL,
			"app:s3cret@tcp(db.internal:3306)/app?parseTime=true",
			"mysql://app:xxxxx@db.internal/app",
		},
		{
			"mysql://app:p%40ss%2Fw@[::1]:3307/app?tls=skip-verify&charset=utf8mb4",
			dialect.MySQL,
			"app:p@ss/w@tcp([::1]:3307)/app?charset=utf8mb4&parseTime=true&tls=skip-verify",
			"mysql://app:xxxxx@[::1]:3307/app?tls=skip-verify&charset=utf8mb4",
		},
		{
			"mysql:root@tcp(127.0.0.1:3306)/test",
			dialect.MySQL,
			"root@tcp(127.0.0.1:3306)/test?parseTime=true",
			"mysql:root@tcp(127.0.0.1:3306)/test",
		},
		{
			"mysql:app:s3cret@tcp(127.0.0.1:3306)/test?parseTime=true",
			dialect.MySQL,
			"app:s3cret@tcp(127.0.0.1:3306)/test?parseTime=true",
			"mysql:app:xxxxx@tcp(127.0.0.1:3306)/test?parseTime=true",
		},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			db, err := parseDSN(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if db.dialect != tc.dialect || db.dsn != tc.dsn || db.shown != tc.shown {
				t.Fatalf("parseDSN(%q) = %v, %q, shown %q; want %v, %q, %q", tc.in, db.dialect, db.dsn, db.shown, tc.dialect, tc.dsn, tc.shown)
			}
		})
	}
}

func TestParseDSNErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty database name"},
		{"klepto", `unknown database klepto: want sqlite:PATH`},
		{"sqlserver://sa:s3cret@host/db", "unknown database sqlserver://sa:xxxxx@host/db"},
		{"root:s3cret@tcp(127.0.0.1:3306)/test", "unknown database root:xxxxx@tcp(127.0.0.1:3306)/test"},
		{"app:s3cret@db.internal:5432/app", "unknown database app:xxxxx@db.internal:5432/app"},
		{"s3cret@db.internal", "unknown database xxxxx@db.internal"},
		{"sqlite:", "no file path"},
		{"sqlite:a.db?mode=ro", "the path holds ? or #"},
		{"postgres://app:s3cret@host:port/db", "invalid PostgreSQL URL postgres://xxxxx@host:port/db: " + errInvalidURL.Error()},
		{"postgres://app:s3cret@ho st/db", "invalid PostgreSQL URL postgres://xxxxx@ho st/db: " + errInvalidURL.Error()},
		// Passwords that url.Parse takes for a port, a fragment, a query
		// or a host, whose error would show part of them.
		{"postgres://u:s3cret/ss@127.0.0.1/db", "invalid PostgreSQL URL postgres://xxxxx@127.0.0.1/db: invalid URL: percent-encode"},
		{"postgres://u:s3cret#ss@127.0.0.1/db", "invalid PostgreSQL URL postgres://xxxxx@127.0.0.1/db: invalid URL: percent-encode"},
		{"postgresql://u:s3cret?ss@127.0.0.1/db", "invalid PostgreSQL URL postgresql://xxxxx@127.0.0.1/db: invalid URL: percent-encode"},
		{"postgres://u:s3cret ss@127.0.0.1/db", "invalid PostgreSQL URL postgres://xxxxx@127.0.0.1/db: invalid URL: percent-encode"},
		{"mysql://u:s3cret/ss@127.0.0.1/db", "invalid MySQL DSN mysql://xxxxx@127.0.0.1/db: invalid URL: percent-encode"},
		{"mysql://u:s3cret#ss@127.0.0.1/db", "invalid MySQL DSN mysql://xxxxx@127.0.0.1/db: invalid URL: percent-encode"},
		{"mysql://u:s3cret ss@127.0.0.1/db", "invalid MySQL DSN mysql://xxxxx@127.0.0.1/db: invalid URL: percent-encode"},
		{"mysql://app:s3cret@/db", "invalid MySQL DSN mysql://app:xxxxx@/db: no host"},
		{"mysql://app:s3cret@host", "want one database name"},
		{"mysql://app:s3cret@host/db?parseTime=maybe", "invalid MySQL DSN mysql://app:xxxxx@host/db?parseTime=maybe"},
		{"mysql:app:s3cret@tcp(host/db", "invalid MySQL DSN mysql:app:xxxxx@tcp(host/db"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := parseDSN(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseDSN(%q) = %v, want an error holding %q", tc.in, err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("parseDSN(%q) = %v, which shows the password", tc.in, err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sqlite:klepto.db", "sqlite:klepto.db"},
		{"postgres://app@host/db", "postgres://app@host/db"},
		{"postgres://app:s3cret@host/db", "postgres://app:xxxxx@host/db"},
		{"postgres://:s3cret@host/db", "postgres://:xxxxx@host/db"},
		{"postgres://app:s3@cr@et@host/db?x=1", "postgres://app:xxxxx@host/db?x=1"},
		{"postgres://app@host/db?sslmode=disable&password=s3cret", "postgres://app@host/db?sslmode=disable&password=xxxxx"},
		{"host=db user=app password=s3cret dbname=app", "host=db user=app password=xxxxx dbname=app"},
		{"host=db password='s3 cret' dbname=app", "host=db password=xxxxx dbname=app"},
		{"mysql://root:s3cret@127.0.0.1:3306/test", "mysql://root:xxxxx@127.0.0.1:3306/test"},
		{"root:s3cret@tcp(127.0.0.1:3306)/test", "root:xxxxx@tcp(127.0.0.1:3306)/test"},
		{"mysql:root:s3cret@tcp(127.0.0.1:3306)/test", "mysql:root:xxxxx@tcp(127.0.0.1:3306)/test"},
		{"root:s3@cret@unix(/run/mysqld.sock)/test", "root:xxxxx@unix(/run/mysqld.sock)/test"},
		{"root@tcp(127.0.0.1:3306)/test", "root@tcp(127.0.0.1:3306)/test"},
		{
			`connect to postgres://app:s3cret@host/db: dial tcp: refused; copy to "app:pw@tcp(h:1)/x"`,
			`connect to postgres://app:xxxxx@host/db: dial tcp: refused; copy to "app:xxxxx@tcp(h:1)/x"`,
		},
	}
	for _, tc := range tests {
		if got := redact(tc.in); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Passwords that redact cannot find in a message, such as one in a
// message of a driver, are removed too, once a DSN named them.
func TestRedactText(t *testing.T) {
	e := &env{}
	e.secret("postgres://app:p%40ss%20word@host/db")
	e.secret("mysql://app:hunter2@host/db")
	e.secret("postgres://app:pa/ss@host/db") // does not parse
	got := e.redactText(`bad password "p@ss word" (escaped p%40ss%20word) or hunter2, invalid port ":pa/ss"`)
	if want := `bad password "xxxxx" (escaped xxxxx) or xxxxx, invalid port ":xxxxx"`; got != want {
		t.Fatalf("redactText = %q, want %q", got, want)
	}
}

package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// echoed is a password that the servers of TestServerEchoRedacted quote
// in their errors.
const echoed = "Zq9s3cr3t"

// A server error that quotes the password, whatever part of the DSN holds
// it, shows xxxxx instead, on stderr and stdout.
func TestServerEchoRedacted(t *testing.T) {
	check := func(t *testing.T, dsn string) {
		t.Helper()
		src := "sqlite:" + t.TempDir() + "/src.db"
		ok(t, "create", "fib", "-db", src)
		for _, args := range [][]string{
			{"ls", "-db", dsn},
			{"ls", "-json", "-db", dsn},
			{"-db", dsn, "stats", "fib"},
			{"copy", "-db", src, "-to", dsn},
		} {
			r := klepto(t, args...)
			if r.code != exitFailure || strings.Contains(r.stdout+r.stderr, echoed) || !strings.Contains(r.stderr, "xxxxx") {
				t.Errorf("klepto-sql %q: exit %d\nstdout %q\nstderr %q\nwant a failure showing xxxxx, never the password", args, r.code, r.stdout, r.stderr)
			}
		}
	}
	t.Run("postgres", func(t *testing.T) {
		db := sqltest.Fresh(t, dialect.Postgres)
		// The server quotes the options parameter it refuses.
		for _, inUserinfo := range []bool{false, true} {
			u, err := url.Parse(db.DSN)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("options", echoed)
			if inUserinfo {
				u.User = url.UserPassword(u.User.Username(), echoed)
			} else {
				q.Set("password", echoed)
			}
			u.RawQuery = q.Encode()
			check(t, u.String())
		}
	})
	t.Run("mysql", func(t *testing.T) {
		db := sqltest.Fresh(t, dialect.MySQL)
		// go-sql-driver sends the parameter password=… as SET password=…,
		// and the server quotes it in its syntax error.
		sep := "?"
		if strings.Contains(db.DSN, "?") {
			sep = "&"
		}
		check(t, "mysql:"+db.DSN+sep+"password="+echoed)
		check(t, dsnOf(t, db, false)+"?password="+echoed)
	})
}

// The passwords of every part of a DSN are removed from any text, such as
// a driver's message that quotes one alone.
func TestRedactTextEveryPart(t *testing.T) {
	for _, dsn := range []string{
		"postgres://app:" + echoed + "@host/db",
		"postgres://app@host/db?sslmode=disable&password=" + echoed,
		"mysql://app:" + echoed + "@host/db",
		"mysql://app@host/db?password=" + echoed,
		"mysql:app:" + echoed + "@tcp(host:3306)/db",
		"mysql:app@tcp(host:3306)/db?password=" + echoed,
	} {
		e := &env{}
		e.secret(dsn)
		got := e.redactText("near '" + echoed + "' at line 1; " + redact(dsn) + ": refused")
		if strings.Contains(got, echoed) || !strings.HasSuffix(got, ": refused") {
			t.Errorf("%s: redactText gave %q", dsn, got)
		}
	}
}

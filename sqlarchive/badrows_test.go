package sqlarchive_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// withBadRows returns an Archive of db holding the archive "fib" with
// three good entries and two bad rows, written by raw SQL: one whose
// key_hash is not the SHA-256 of its key_text, and one whose key_text is
// not valid base64 after the escape prefix.
func withBadRows(t *testing.T, db *sql.DB, d *dialect.Dialect) *sqlarchive.Archive {
	t.Helper()
	a := open(t, db, d, nil)
	fib := table[int](t, a, "fib", nil)
	for _, k := range []string{"(n=1)", "(n=2)", "(n=3)"} {
		put(t, fib, k, 1)
	}
	wrong := sha256.Sum256([]byte("something else"))
	invalid := sha256.Sum256([]byte("base64:!!"))
	for _, r := range []struct {
		hash []byte
		text string
	}{{wrong[:], "(n=wrong)"}, {invalid[:], "base64:!!"}} {
		if _, err := db.ExecContext(t.Context(), d.Rebind(`INSERT INTO fib (key_hash, key_text, value) VALUES (?, ?, '1')`), r.hash, r.text); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// isBadRow reports whether err wraps a *sqltable.BadRowError of table fib
// whose message names the table, the operation and the key.
func isBadRow(err error) bool {
	bad, ok := errors.AsType[*sqltable.BadRowError](err)
	if !ok || bad.Table != "fib" || bad.Key != "(n=wrong)" && bad.Key != "base64:!!" {
		return false
	}
	return strings.Contains(err.Error(), "sqltable fib: "+bad.Op+": bad row, key ") && (bad.Op == "rows" || bad.Op == "copy")
}

// Dump stops at a bad row with an error naming the table and the key;
// with SkipBadRows it writes the good rows and counts the bad ones.
func TestDumpBadRows(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		a := withBadRows(t, db, d)
		if _, err := sqlarchive.Dump(t.Context(), a, "fib", new(bytes.Buffer), nil); !isBadRow(err) {
			t.Fatalf("Dump over bad rows: %v, want a *sqltable.BadRowError naming the table and the key", err)
		}
		var b bytes.Buffer
		res, err := sqlarchive.Dump(t.Context(), a, "fib", &b, &sqlarchive.DumpOptions{SkipBadRows: true})
		if err != nil || res.Entries != 3 || res.Skipped != 2 || len(res.BadRows) != 2 {
			t.Fatalf("Dump skipping bad rows: %+v, %v; want 3 entries, 2 skipped", res, err)
		}
		for _, bad := range res.BadRows {
			if !isBadRow(bad) {
				t.Errorf("skipped %v", bad)
			}
		}
		if lines := strings.Count(b.String(), "\n"); lines != 4 {
			t.Fatalf("the dump has %d lines, want a header and 3 entries:\n%s", lines, b.String())
		}
	})
}

// Copy stops at a bad row with an error naming the table and the key;
// with SkipBadRows it copies the good rows and counts the bad ones.
func TestCopyBadRows(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		src := withBadRows(t, db, d)
		dst := open(t, sqltest.SQLite(t), dialect.SQLite, nil)
		if _, err := sqlarchive.Copy(t.Context(), dst, src, "fib", nil); !isBadRow(err) {
			t.Fatalf("Copy over bad rows: %v, want a *sqltable.BadRowError naming the table and the key", err)
		}
		res, err := sqlarchive.Copy(t.Context(), dst, src, "fib", &sqlarchive.CopyOptions{SkipBadRows: true})
		if err != nil || res.Entries != 3 || res.Skipped != 2 || len(res.BadRows) != 2 {
			t.Fatalf("Copy skipping bad rows: %+v, %v; want 3 entries, 2 skipped", res, err)
		}
		if n, err := table[int](t, dst, "fib", nil).Len(t.Context()); err != nil || n != 3 {
			t.Fatalf("Len of the copy: %d, %v; want 3", n, err)
		}
	})
}

// A broken catalog row is listed by Tables with Err set, and does not hide
// the others; opening it by name fails with an error saying what is
// wrong, and Drop removes it.
func TestTablesBrokenCatalog(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		a := open(t, db, d, nil)
		table[int](t, a, "fib", nil)
		table[int](t, a, "good", nil)
		breaks := []struct{ column, value, want string }{
			{"codec", "zstd", `codec: unknown codec "zstd"`},
			{"ttl_ns", "-1", "negative ttl_ns -1"},
		}
		if d == dialect.SQLite {
			breaks = append(breaks, struct{ column, value, want string }{"created_at", "yesterday", `created_at: dialect: scan "yesterday"`})
		}
		for _, br := range breaks {
			t.Run(br.column, func(t *testing.T) {
				if _, err := db.ExecContext(ctx, d.Rebind("UPDATE "+d.QuoteIdent(migrations.ArchivesTable)+" SET "+
					d.QuoteIdent(br.column)+" = ? WHERE name = 'fib'"), br.value); err != nil {
					t.Fatal(err)
				}
				infos, err := a.Tables(ctx)
				if err != nil || len(infos) != 2 || infos[0].Name != "fib" || infos[1].Name != "good" || infos[1].Err != nil {
					t.Fatalf("Tables = %+v, %v; want fib (broken) and good", infos, err)
				}
				want := `sqlarchive: archive "fib": broken catalog row: ` + br.want
				if err := infos[0].Err; !errors.Is(err, sqlarchive.ErrBrokenCatalog) || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("Err of the broken row = %v, want %q…", err, want)
				}
				if _, err := a.Info(ctx, "fib"); !errors.Is(err, sqlarchive.ErrBrokenCatalog) ||
					!strings.HasPrefix(err.Error(), `sqlarchive: info "fib": broken catalog row: `+br.want) {
					t.Fatalf("Info of a broken archive: %v", err)
				}
				if _, err := sqlarchive.Table[int](ctx, a, "fib", nil); !errors.Is(err, sqlarchive.ErrBrokenCatalog) ||
					!strings.HasPrefix(err.Error(), `sqlarchive: archive "fib": broken catalog row: `+br.want) {
					t.Fatalf("Table of a broken archive: %v", err)
				}
				if _, err := sqlarchive.Dump(ctx, a, "fib", new(bytes.Buffer), nil); !errors.Is(err, sqlarchive.ErrBrokenCatalog) {
					t.Fatalf("Dump of a broken archive: %v", err)
				}
				if _, err := sqlarchive.Dump(ctx, a, "good", new(bytes.Buffer), nil); err != nil {
					t.Fatalf("Dump of a good archive beside a broken one: %v", err)
				}
				if _, err := db.ExecContext(ctx, "UPDATE "+d.QuoteIdent(migrations.ArchivesTable)+" SET codec = 'json', ttl_ns = 0, created_at = updated_at WHERE name = 'fib'"); err != nil {
					t.Fatal(err)
				}
			})
		}
		if _, err := db.ExecContext(ctx, "UPDATE "+d.QuoteIdent(migrations.ArchivesTable)+" SET codec = 'zstd' WHERE name = 'fib'"); err != nil {
			t.Fatal(err)
		}
		if err := a.Drop(ctx, "fib"); err != nil {
			t.Fatalf("Drop of a broken archive: %v", err)
		}
		if infos, err := a.Tables(ctx); err != nil || len(infos) != 1 || infos[0].Name != "good" {
			t.Fatalf("Tables after Drop = %+v, %v", infos, err)
		}
		if exists, err := d.TableExists(ctx, db, "fib"); err != nil || exists {
			t.Fatalf("the table of the dropped broken archive exists: %v, %v", exists, err)
		}
	})
}

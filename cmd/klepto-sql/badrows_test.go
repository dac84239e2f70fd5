package main

import (
	"crypto/sha256"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// eachWithBad runs fn for each dialect with the -db of a fresh database of each dialect holding
// the archive fib, with 3 good entries and 2 bad rows written by raw SQL,
// and the archive odd, whose catalog row has an unknown codec.
func eachWithBad(t *testing.T, fn func(t *testing.T, dsn string)) {
	for i, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			ctx := t.Context()
			fresh := sqltest.Fresh(t, d)
			a, err := sqlarchive.Open(ctx, fresh.DB, &sqlarchive.Options{Dialect: d})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			for _, name := range []string{"fib", "odd"} {
				tbl, err := sqlarchive.Table[int](ctx, a, name, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"(n=1)", "(n=2)", "(n=3)"} {
					if err := tbl.Put(ctx, keymap.NewKey(k), 1); err != nil {
						t.Fatal(err)
					}
				}
			}
			wrong := sha256.Sum256([]byte("something else"))
			invalid := sha256.Sum256([]byte("base64:!!"))
			insert := d.Rebind(`INSERT INTO fib (key_hash, key_text, value) VALUES (?, ?, '1')`)
			if _, err := fresh.DB.ExecContext(ctx, insert, wrong[:], "(n=wrong)"); err != nil {
				t.Fatal(err)
			}
			if _, err := fresh.DB.ExecContext(ctx, insert, invalid[:], "base64:!!"); err != nil {
				t.Fatal(err)
			}
			if _, err := fresh.DB.ExecContext(ctx, "UPDATE "+d.QuoteIdent(migrations.ArchivesTable)+" SET codec = 'zstd' WHERE name = 'odd'"); err != nil {
				t.Fatal(err)
			}
			fn(t, dsnOf(t, fresh, i%2 == 0))
		})
	}
}

// export and copy stop at a bad row, naming the table and the key and
// suggesting -skip-bad; with -skip-bad they skip bad rows and say how many.
func TestSkipBad(t *testing.T) {
	eachWithBad(t, func(t *testing.T, dsn string) {
		fails(t, exitFailure, []string{"sqltable fib: rows: bad row, key ", "-skip-bad"}, "export", "fib", "-db", dsn)
		r := klepto(t, "export", "fib", "-skip-bad", "-db", dsn)
		if r.code != exitOK || strings.Count(r.stdout, "\n") != 4 ||
			!strings.HasPrefix(r.stderr, "klepto-sql: fib: skipped 2 bad rows\n") ||
			!strings.Contains(r.stderr, `bad row, key "(n=wrong)": key_hash `) || !strings.Contains(r.stderr, `bad row, key "base64:!!": `) {
			t.Fatalf("export -skip-bad: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}

		to := "sqlite:" + filepath.Join(t.TempDir(), "to.db")
		fails(t, exitFailure, []string{"sqltable fib: copy: bad row, key ", "-skip-bad"}, "copy", "fib", "-db", dsn, "-to", to)
		// Copying every archive stops at the broken one.
		fails(t, exitFailure, []string{`archive "odd": broken catalog row: codec: unknown codec "zstd"`, "-skip-bad"}, "copy", "-db", dsn, "-to", to)
		r = klepto(t, "copy", "-skip-bad", "-json", "-db", dsn, "-to", to)
		if r.code != exitOK || r.stdout != `[{"name":"fib","entries":3,"skipped":2}]`+"\n" ||
			!strings.Contains(r.stderr, `klepto-sql: skipped: sqlarchive: archive "odd": broken catalog row: `) ||
			!strings.Contains(r.stderr, "klepto-sql: fib: skipped 2 bad rows\n") {
			t.Fatalf("copy -skip-bad: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
	})
}

// ls lists an archive whose catalog row is broken as broken, with the
// reason on stderr, and the others as usual.
func TestLsBroken(t *testing.T) {
	eachWithBad(t, func(t *testing.T, dsn string) {
		r := klepto(t, "ls", "-db", dsn)
		lines := strings.Split(r.stdout, "\n")
		if r.code != exitOK || len(lines) != 4 || !strings.HasPrefix(lines[1], "fib ") || !strings.Contains(lines[1], " json ") ||
			!strings.HasPrefix(lines[2], "odd ") || !strings.Contains(lines[2], " broken ") ||
			r.stderr != `klepto-sql: sqlarchive: archive "odd": broken catalog row: codec: unknown codec "zstd" (want json, gob or raw)`+"\n" {
			t.Fatalf("ls: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		list := decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", dsn))
		if len(list) != 2 || list[0].Broken != "" || list[0].Rows != 5 || list[1].Broken == "" || list[1].Codec != "" {
			t.Fatalf("ls -json = %+v", list)
		}
		fails(t, exitFailure, []string{`broken catalog row: codec: unknown codec "zstd"`}, "export", "odd", "-db", dsn)
		// drop removes it.
		ok(t, "drop", "odd", "-yes", "-db", dsn)
		if list := decode[[]archiveJSON](t, ok(t, "ls", "-json", "-db", dsn)); len(list) != 1 || list[0].Name != "fib" {
			t.Fatalf("ls -json after drop = %+v", list)
		}
	})
}

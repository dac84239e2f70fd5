package sqltable_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqltable"
)

// columnReads counts the reads of a table's columns and of
// max_allowed_packet among stmts.
func columnReads(stmts []string) (columns, packet int) {
	for _, s := range stmts {
		switch {
		case strings.Contains(s, "max_allowed_packet"):
			packet++
		case strings.Contains(s, "pragma_table_info(?)"), strings.Contains(s, "format_type("),
			strings.Contains(s, "information_schema.columns"):
			columns++
		}
	}
	return columns, packet
}

// TestOpenFeedOncePerDB: of the Tables opened over one *sql.DB with
// RequireFeed, the first looks for the change feed, and on MySQL reads
// max_allowed_packet; the others read only their own table's columns.
func TestOpenFeedOncePerDB(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			ctx := t.Context()
			db, count := sqltest.Counted(t, d)
			if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
				t.Fatal(err)
			}
			opts := &sqltable.Options{Dialect: d, RequireFeed: true}
			var first int
			for i, name := range []string{"a", "b", "c"} {
				// Created first, so that Open reads its columns once.
				ddl, err := d.CreateTable(name, codec.JSON)
				if err != nil {
					t.Fatal(err)
				}
				for _, stmt := range ddl {
					if _, err := db.ExecContext(ctx, stmt); err != nil {
						t.Fatal(err)
					}
				}
				count.Reset()
				tbl, err := sqltable.Open[int](ctx, db, name, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer tbl.Close()
				// On MySQL, each read is a prepare and an execution.
				columns, packet := columnReads(count.Statements())
				wantColumns, wantPacket := first/2, 0
				if i == 0 {
					first = columns
					wantColumns = columns // its own and the feed's
					if d == dialect.MySQL {
						wantPacket = 1
					}
				}
				if columns == 0 || columns != wantColumns || packet != wantPacket {
					t.Errorf("Open %d read columns %d times and max_allowed_packet %d times, want %d and %d: %q",
						i+1, columns, packet, wantColumns, wantPacket, count.Statements())
				}
			}
		})
	}
}

// TestOpenFeedDropped: a change feed dropped after an Open over a *sql.DB
// found it still makes the records of changes fail with ErrNoFeed, or the
// Opens whose preparation of the record finds it gone; the Opens after
// such a failure look for the feed again, and fail at once.
func TestOpenFeedDropped(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			ctx := t.Context()
			db := sqltest.Open(t, d)
			if err := migrations.Up(ctx, db, &migrations.Options{Dialect: d}); err != nil {
				t.Fatal(err)
			}
			opts := &sqltable.Options{Dialect: d, RequireFeed: true}
			unprepared := &sqltable.Options{Dialect: d, RequireFeed: true, NoPrepare: true}
			first, err := sqltable.Open[int](ctx, db, "a", opts)
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			if _, err := db.ExecContext(ctx, `DROP TABLE `+d.QuoteIdent(migrations.ChangesTable)); err != nil {
				t.Fatal(err)
			}
			// Not prepared: Open trusts the first one's finding.
			tbl, err := sqltable.Open[int](ctx, db, "b", unprepared)
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Close()
			k := keymap.NewKey("k")
			overwrite := func(tbl *sqltable.Table[int]) {
				t.Helper()
				if err := tbl.Put(ctx, k, 1); err != nil {
					t.Fatal(err)
				}
				if err := tbl.Put(ctx, k, 2); !errors.Is(err, sqltable.ErrNoFeed) {
					t.Errorf("overwrite after the drop = %v, want ErrNoFeed", err)
				}
			}
			// Prepared: the record's preparation finds the feed gone,
			// unless the driver kept the statement of an earlier Table
			// (pgx does, by its SQL); then the record fails.
			switch prepared, err := sqltable.Open[int](ctx, db, "c", opts); {
			case err == nil:
				defer prepared.Close()
				overwrite(prepared)
			case !errors.Is(err, sqltable.ErrNoFeed):
				t.Errorf("prepared Open after the drop = %v, want ErrNoFeed", err)
			}
			overwrite(tbl)
			// Both failures made Open look again.
			if _, err := sqltable.Open[int](ctx, db, "d", unprepared); !errors.Is(err, sqltable.ErrNoFeed) {
				t.Errorf("Open after a failed record = %v, want ErrNoFeed", err)
			}
		})
	}
}

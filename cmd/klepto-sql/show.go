package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// showCommand prints a page of the entries of an archive.
type showCommand struct {
	*env
	db     string
	json   bool
	limit  int
	offset int
}

func (c *showCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "show",
		args:    "NAME",
		need:    []string{"NAME"},
		max:     1,
		summary: "print a page of the entries of an archive",
		text: `Show prints entries of the archive NAME that have not expired, in the order of
their key hashes: the key text, the size of the value in bytes as the
database returns it, when the entry was created and expires, and the start
of its value (JSON without
spaces, raw text as it is, other bytes in hex). Above them it prints the Go
types of the result and the argument of the function memoized into the
archive, once a program's sqlarchive.Memoize has recorded them. With -json it
prints one JSON array of the entries as export writes them, with their size
and whole values.`,
		examples: []string{
			"klepto-sql show fib",
			"klepto-sql show fib -limit 50 -offset 100",
			"klepto-sql show fib -json | jq '.[].key'",
		},
	}
}

func (c *showCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	jsonFlag(fs, &c.json)
	fs.IntVar(&c.limit, "limit", 20, "print at most `N` entries; 0 for all")
	fs.IntVar(&c.offset, "offset", 0, "skip the first `N` entries")
}

// shownRecord is an entry in the output of show -json.
type shownRecord struct {
	sqlarchive.Record
	Size int `json:"size"`
}

func (c *showCommand) Run(ctx context.Context, args []string) error {
	if c.limit < 0 || c.offset < 0 {
		return usagef("show: -limit and -offset must not be negative")
	}
	name := args[0]
	return c.withStored(ctx, c.db, name, func(a *archive, info sqlarchive.TableInfo, t *sqltable.Table[[]byte]) error {
		var recs []shownRecord
		i := 0
		for r, err := range t.Rows(ctx) {
			if err != nil {
				return err
			}
			if i++; i <= c.offset {
				continue
			}
			rec, err := sqlarchive.NewRecord(r, info.Codec)
			if err != nil {
				return err
			}
			recs = append(recs, shownRecord{rec, len(r.Value)})
			if c.limit > 0 && len(recs) == c.limit {
				break
			}
		}
		if c.json {
			if recs == nil {
				recs = []shownRecord{}
			}
			return writeJSON(c.stdout, recs)
		}
		if info.ResultType != "" {
			fmt.Fprintf(c.stdout, "result type    %s\nargument type  %s\n\n", info.ResultType, info.ArgsType)
		}
		w := newTable(c.stdout)
		fmt.Fprintln(w, "KEY\tSIZE\tCREATED\tEXPIRES\tVALUE")
		for _, r := range recs {
			value := r.ValueBase64
			if value == nil {
				value = r.Value
			}
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", printable(r.Key), r.Size,
				formatTimePtr(r.CreatedAt), formatTimePtr(r.ExpiresAt), preview(value, info.Codec))
		}
		return w.Flush()
	})
}

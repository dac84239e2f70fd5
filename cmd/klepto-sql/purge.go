package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// purgeCommand removes entries: expired ones, old ones, or all.
type purgeCommand struct {
	*env
	db        string
	json      bool
	yes       bool
	expired   bool
	olderThan time.Duration
	all       bool
}

func (c *purgeCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "purge",
		args:    "NAME",
		need:    []string{"NAME"},
		max:     1,
		summary: "remove expired, old or all entries of an archive (-yes)",
		text: `Purge removes entries of the archive NAME, and prints how many:
  -expired         the entries that have expired (they are misses already)
  -older-than D    the entries last written more than D ago, expired or not
  -all             every entry; the archive stays, empty
-expired and -older-than may be given together. Purge needs -yes, or an
answer at a terminal.`,
		examples: []string{
			"klepto-sql purge fib -expired -yes",
			"klepto-sql purge fib -older-than 720h -yes",
			"klepto-sql purge fib -all -yes",
		},
	}
}

func (c *purgeCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	jsonFlag(fs, &c.json)
	yesFlag(fs, &c.yes, "remove the entries")
	fs.BoolVar(&c.expired, "expired", false, "remove the entries that have expired")
	fs.DurationVar(&c.olderThan, "older-than", 0, "remove the entries last written more than `D` ago, such as 720h")
	fs.BoolVar(&c.all, "all", false, "remove every entry")
}

func (c *purgeCommand) Run(ctx context.Context, args []string) error {
	name := args[0]
	switch {
	case c.olderThan < 0:
		return usagef("purge: -older-than must be positive, not %v", c.olderThan)
	case c.all && (c.expired || c.olderThan > 0):
		return usagef("purge: -all removes every entry: give it alone")
	case !c.all && !c.expired && c.olderThan == 0:
		return usagef("purge: say what to remove: -expired, -older-than D or -all")
	}
	var what []string
	if c.all {
		what = append(what, "every entry")
	}
	if c.expired {
		what = append(what, "the expired entries")
	}
	if c.olderThan > 0 {
		what = append(what, "the entries last written more than "+c.olderThan.String()+" ago")
	}
	return c.withStored(ctx, c.db, name, func(a *archive, info sqlarchive.TableInfo, t *sqltable.Table[[]byte]) error {
		action := fmt.Sprintf("remove %s of the archive %q in %s", strings.Join(what, " and "), name, a.db.shown)
		if err := c.confirm(c.yes, action); err != nil {
			return err
		}
		deleted := 0
		if c.all {
			s, err := a.Stats(ctx, name)
			if err != nil {
				return err
			}
			if err := t.Clear(ctx); err != nil {
				return err
			}
			deleted = int(s.Rows)
		}
		if c.expired {
			n, err := t.DeleteExpired(ctx)
			if err != nil {
				return err
			}
			deleted += n
		}
		if c.olderThan > 0 {
			n, err := t.DeleteBefore(ctx, time.Now().Add(-c.olderThan))
			if err != nil {
				return err
			}
			deleted += n
		}
		if c.json {
			return writeJSON(c.stdout, struct {
				Name    string `json:"name"`
				Deleted int    `json:"deleted"`
			}{name, deleted})
		}
		_, err := fmt.Fprintf(c.stdout, "removed %s from %s\n", plural(deleted, "entry", "entries"), name)
		return err
	})
}

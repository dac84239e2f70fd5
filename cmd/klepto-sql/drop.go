package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/klepto-sql/klepto/sqlarchive"
)

// dropCommand drops an archive.
type dropCommand struct {
	*env
	db     string
	yes    bool
	orphan bool
}

func (c *dropCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "drop",
		args:    "NAME",
		need:    []string{"NAME"},
		max:     1,
		summary: "drop an archive with all its entries (-yes)",
		text: `Drop drops the table of the archive NAME, with all its entries, and removes it
from the catalog. It needs -yes, or an answer at a terminal.

With -orphan, drop drops the table NAME that the catalog does not list, such
as one left behind by migrate down, if its layout is klepto's.`,
		examples: []string{
			"klepto-sql drop fib@v1 -yes",
			"klepto-sql drop -orphan -yes thumbnails",
		},
	}
}

func (c *dropCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	yesFlag(fs, &c.yes, "drop the archive and its entries")
	fs.BoolVar(&c.orphan, "orphan", false, "drop the table NAME, which the catalog does not list")
}

func (c *dropCommand) Run(ctx context.Context, args []string) (err error) {
	name := args[0]
	a, err := c.openArchive(ctx, c.db, false)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, a) }()
	if c.orphan {
		table, _, err := sqlarchive.TableName(name)
		if err != nil {
			return err
		}
		if err := c.confirm(c.yes, fmt.Sprintf("drop the table %q, which the catalog does not list, with all its rows, from %s", table, a.db.shown)); err != nil {
			return err
		}
		return a.DropOrphan(ctx, name)
	}
	var action string
	switch _, err := a.info(ctx, name); {
	case errors.Is(err, sqlarchive.ErrBrokenCatalog):
		// Its table cannot be opened to count its entries.
		action = fmt.Sprintf("drop the archive %q, whose catalog row is broken, and its entries from %s", name, a.db.shown)
	case err != nil:
		return err
	default:
		s, err := a.Stats(ctx, name)
		if err != nil {
			return err
		}
		action = fmt.Sprintf("drop the archive %q and its %s from %s", name, plural(s.Rows, "entry", "entries"), a.db.shown)
	}
	if err := c.confirm(c.yes, action); err != nil {
		return err
	}
	return a.Drop(ctx, name)
}

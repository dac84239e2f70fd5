package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// rmCommand removes entries by key.
type rmCommand struct {
	*env
	db string
}

func (c *rmCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "rm",
		args:    "NAME KEY...",
		need:    []string{"NAME", "KEY"},
		max:     -1,
		summary: "remove entries by key",
		text: `Rm removes the entries stored under each KEY from the archive NAME. Keys that
are not there (or have expired) are reported in an error once the others are
removed.`,
		examples: []string{
			"klepto-sql rm fib '(n=10)' '(n=11)'",
		},
	}
}

func (c *rmCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
}

func (c *rmCommand) Run(ctx context.Context, args []string) error {
	name, texts := args[0], args[1:]
	keys := make([]keymap.Key, len(texts))
	for i, text := range texts {
		var err error
		if keys[i], err = parseKey(text); err != nil {
			return err
		}
	}
	return c.withStored(ctx, c.db, name, func(a *archive, info sqlarchive.TableInfo, t *sqltable.Table[[]byte]) error {
		var missing []string
		for i, key := range keys {
			found, err := t.Has(ctx, key)
			if err != nil {
				return err
			}
			if !found {
				missing = append(missing, strconv.Quote(texts[i]))
				continue
			}
			if err := t.Delete(ctx, key); err != nil {
				return err
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("archive %q has no key %s", name, strings.Join(missing, ", "))
		}
		return nil
	})
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// createCommand creates an archive.
type createCommand struct {
	*env
	db          string
	codec       string
	ttl         time.Duration
	maxEntries  boundFlag
	maxBytes    boundFlag
	evict       string
	adopt       bool
	skipMigrate bool
}

func (c *createCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "create",
		args:    "NAME",
		need:    []string{"NAME"},
		max:     1,
		summary: "create an archive",
		text: `Create creates the archive NAME: a row in the catalog and a table of its own,
with the default string keymap. NAME is a table name (lower-case letters,
digits and _, starting with a letter) or NAME@VERSION, the archive of one
version of a memoized function. It applies klepto's migrations first if the
database needs them, unless -skip-migrate is given, for databases whose
schema another tool applies: klepto's tables must then exist. If another tool
applied every migration, create finds the tables and uses them as they are,
-skip-migrate or not. An archive that exists already is an error.

With -adopt, create lists in the catalog the table NAME that the database has
but the catalog does not, such as one left behind by migrate down, keeping its
rows; its layout must be klepto's, and -codec and -ttl must be those its
entries were written with.

-max-entries and -max-bytes bound the archive's table, and -evict chooses
what goes first past a bound (lrs, the default: least recently stored; lru;
lfu), as alter does; "klepto-sql help alter" says how.

Codecs: json (the default: values are JSON that SQL tools can query), gob (Go
values in encoding/gob, written by Go programs), raw (bytes as they are).`,
		examples: []string{
			"klepto-sql create fib",
			"klepto-sql create thumbnails -codec raw -ttl 24h -db sqlite:cache.db",
			"klepto-sql create fib -max-entries 100000 -evict lru",
			"klepto-sql create -adopt -codec raw thumbnails",
		},
	}
}

func (c *createCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	fs.StringVar(&c.codec, "codec", "json", "the `codec` of the values: json, gob or raw")
	fs.BoolVar(&c.adopt, "adopt", false, "list the existing table NAME, which the catalog does not list, as the archive NAME")
	fs.BoolVar(&c.skipMigrate, "skip-migrate", false, "apply no migration: another tool keeps klepto's schema")
	fs.DurationVar(&c.ttl, "ttl", 0, "how long entries live after they are written: a duration `D` such as 1h30m; 0 for ever")
	fs.Var(&c.maxEntries, "max-entries", "the most entries the archive keeps: a positive `N`; none by default")
	fs.Var(&c.maxBytes, "max-bytes", "the most bytes of values the archive keeps: a positive `N`; none by default")
	fs.StringVar(&c.evict, "evict", "lrs", "the eviction `order` past a bound: lrs, lru or lfu")
}

func (c *createCommand) Run(ctx context.Context, args []string) (err error) {
	name := args[0]
	vc, err := codec.Parse(c.codec)
	if err != nil {
		return usagef("create: -codec: %v", err)
	}
	if c.ttl < 0 {
		return usagef("create: -ttl must not be negative, not %v", c.ttl)
	}
	evict, err := sqltable.ParseEvict(c.evict)
	if err != nil {
		return usagef("create: -evict: %v", err)
	}
	if c.maxEntries.off || c.maxBytes.off {
		return usagef("create: a new archive has no bound to turn off: leave out -max-entries or -max-bytes")
	}
	if _, _, err := sqlarchive.TableName(name); err != nil {
		return err
	}
	opts := &sqlarchive.TableOptions{Codec: &vc, TTL: &c.ttl, MaxEntries: &c.maxEntries.n, MaxBytes: &c.maxBytes.n, Evict: &evict}
	if c.adopt {
		// An adopted table keeps what it has; bounds are set with alter.
		if c.maxEntries.set || c.maxBytes.set {
			return usagef("create: -adopt takes no bound: adopt the table, then alter it")
		}
		opts.MaxEntries, opts.MaxBytes, opts.Evict = nil, nil, nil
	}
	a, err := c.openArchive(ctx, c.db, !c.skipMigrate)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, a) }()
	if c.adopt {
		_, err := sqlarchive.Adopt(ctx, a.Archive, name, opts)
		return err
	}
	switch info, err := a.Info(ctx, name); {
	case err == nil:
		return fmt.Errorf("archive %q exists already in %s (codec %v, TTL %s)", name, a.db.shown, info.Codec, formatTTL(info.TTL))
	case !errors.Is(err, sqlarchive.ErrNotFound):
		return err
	}
	t, err := sqlarchive.Table[[]byte](ctx, a.Archive, name, opts)
	if err != nil {
		return err
	}
	return t.Close()
}

package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqlarchive/pqlisten"
)

// watchCommand prints the changes of the change feed as they happen.
type watchCommand struct {
	*env
	db       string
	json     bool
	interval time.Duration
}

func (c *watchCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "watch",
		args:    "[NAME]",
		max:     1,
		summary: "print the changes to archives as they happen",
		text: `Watch prints each change recorded in klepto's change feed from now on, one
line each, until interrupted: when it was recorded, the archive (or the table,
for one the catalog does not list), the operation and the key. These are the
changes that make other processes drop entries from memory: a key
overwritten (update) or removed (delete), and changes of a whole archive
(clear, purge, batch, import, copy, drop). Writing a new key is not a change:
no process can hold it in memory. With NAME, only the changes of that archive.

On PostgreSQL, watch listens for notifications and prints changes as they
commit; on SQLite and MySQL it reads the feed every -interval.`,
		examples: []string{
			"klepto-sql watch",
			"klepto-sql watch fib -json",
		},
	}
}

func (c *watchCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	jsonFlag(fs, &c.json)
	fs.DurationVar(&c.interval, "interval", sqlarchive.DefaultPollInterval, "how often to read the feed without notifications: a duration `D`")
}

func (c *watchCommand) Run(ctx context.Context, args []string) (err error) {
	if c.interval <= 0 {
		return usagef("-interval must be positive, not %v", c.interval)
	}
	name := ""
	if len(args) > 0 {
		name = args[0]
	}
	listening := false
	a, err := c.openArchiveWith(ctx, c.db, false, func(db database) sqlarchive.Options {
		o := sqlarchive.Options{PollInterval: c.interval}
		// A pooler in transaction mode does not keep LISTEN.
		if db.dialect == dialect.Postgres && !db.pooler {
			o.Listener, listening = pqlisten.New(db.dsn), true
		}
		return o
	})
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, a) }()
	if name != "" {
		if _, err := a.info(ctx, name); err != nil {
			return err
		}
	}
	how := fmt.Sprintf("reading the feed every %v", c.interval)
	if listening {
		how = "listening for notifications"
	}
	fmt.Fprintf(c.stderr, "klepto-sql: watching %s, %s; interrupt to stop\n", a.db.shown, how)
	return a.Watch(ctx, name, func(ch sqlarchive.Change) error {
		if c.json {
			return writeJSON(c.stdout, struct {
				ID      int64     `json:"id"`
				At      timestamp `json:"at"`
				Archive string    `json:"archive"`
				Table   string    `json:"table"`
				Op      string    `json:"op"`
				Key     *string   `json:"key"`
			}{ch.ID, timestamp(ch.At), ch.Archive, ch.Table, ch.Op, keyOrNil(ch)})
		}
		where := ch.Archive
		if where == "" {
			where = ch.Table
		}
		_, err := fmt.Fprintf(c.stdout, "%s  %s  %s  %s\n", ch.At.UTC().Format("2006-01-02T15:04:05.000Z"), where, ch.Op, ch.Key)
		return err
	})
}

// keyOrNil returns the key of a change of one key, or nil.
func keyOrNil(ch sqlarchive.Change) *string {
	if !ch.KeyChange() {
		return nil
	}
	return &ch.Key
}

package main

import (
	"context"
	"flag"
	"fmt"
	"time"
)

// statsCommand prints figures about the entries of an archive.
type statsCommand struct {
	*env
	db   string
	json bool
}

func (c *statsCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "stats",
		args:    "NAME",
		need:    []string{"NAME"},
		max:     1,
		summary: "print the rows, bytes and age of an archive's entries, and its memos' counts",
		text: `Stats prints figures about the entries of the archive NAME, computed by the
database in one scan of its table: rows (expired ones included), expired
rows, bytes of stored values, and the times of the oldest and newest writes.
Then the counts of the memos over the archive, summed over every process:
hits (calls served from memory), misses (calls that ran the function) and
loads (calls served from the table), and when they were last added to
("counted": "as of 3s ago", or "never"; stats_at with -json). Processes add
their counts every few seconds and when they close the archive, so these lag
the calls by that much.`,
		examples: []string{
			"klepto-sql stats fib",
			"klepto-sql stats fib -json | jq .expired",
		},
	}
}

func (c *statsCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	jsonFlag(fs, &c.json)
}

func (c *statsCommand) Run(ctx context.Context, args []string) (err error) {
	name := args[0]
	a, err := c.openArchive(ctx, c.db, false)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, a) }()
	info, err := a.info(ctx, name)
	if err != nil {
		return err
	}
	s, err := a.Stats(ctx, name)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(c.stdout, struct {
			Name    string    `json:"name"`
			Rows    int64     `json:"rows"`
			Expired int64     `json:"expired"`
			Bytes   int64     `json:"bytes"`
			Oldest  timestamp `json:"oldest"`
			Newest  timestamp `json:"newest"`
			Hits    int64     `json:"hits"`
			Misses  int64     `json:"misses"`
			Loads   int64     `json:"loads"`
			StatsAt timestamp `json:"stats_at"`
			// The bounds: 0 for none.
			MaxEntries int64  `json:"max_entries"`
			MaxBytes   int64  `json:"max_bytes"`
			Evict      string `json:"evict"`
		}{name, s.Rows, s.Expired, s.Bytes, timestamp(s.Oldest), timestamp(s.Newest),
			info.Hits, info.Misses, info.Loads, timestamp(info.StatsAt),
			info.Bounds.MaxEntries, info.Bounds.MaxBytes, info.Bounds.Evict.String()})
	}
	w := newTable(c.stdout)
	fmt.Fprintf(w, "name\t%s\nrows\t%d\nexpired\t%d\nbytes\t%d\noldest\t%s\nnewest\t%s\n",
		name, s.Rows, s.Expired, s.Bytes, formatTime(s.Oldest), formatTime(s.Newest))
	fmt.Fprintf(w, "hits\t%d\nmisses\t%d\nloads\t%d\ncounted\t%s\n",
		info.Hits, info.Misses, info.Loads, formatAge(info.StatsAt, time.Now()))
	fmt.Fprintf(w, "bounds\t%s\n", formatBounds(info.Bounds))
	return w.Flush()
}

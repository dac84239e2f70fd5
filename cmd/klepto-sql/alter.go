package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// alterCommand changes the TTL, bounds and eviction order of an archive.
type alterCommand struct {
	*env
	db         string
	json       bool
	ttl        optionalFlag[time.Duration]
	maxEntries boundFlag
	maxBytes   boundFlag
	evict      optionalFlag[sqltable.Evict]
}

func (c *alterCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "alter",
		args:    "NAME",
		need:    []string{"NAME"},
		max:     1,
		summary: "change the TTL, bounds or eviction order of an archive",
		text: `Alter changes the settings of the archive NAME in the catalog, and records the
change in the change feed, so that the memos of running programs take them.

-ttl applies to entries written from then on; those already stored keep
their expiry. -max-entries and -max-bytes bound the archive's table: writes
past a bound evict entries in the -evict order, lrs (least recently stored,
the default), lru (least recently used) or lfu (least frequently used), a
batch at a time, so that the table holds at most the bound plus one batch
(a twentieth of the bound, at least 10 entries or 4096 bytes). The next write
enforces new bounds; alter itself deletes nothing. "off" removes a bound.
Programs that open the archive with the old settings are then refused.`,
		examples: []string{
			"klepto-sql alter fib -max-entries 100000",
			"klepto-sql alter thumbnails -max-bytes 1073741824 -evict lru -ttl 72h",
			"klepto-sql alter fib -max-entries off -json",
		},
	}
}

func (c *alterCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	jsonFlag(fs, &c.json)
	c.ttl.parse = time.ParseDuration
	fs.Var(&c.ttl, "ttl", "how long entries written from now on live: a duration `D` such as 1h30m; 0 for ever")
	fs.Var(&c.maxEntries, "max-entries", "the most entries the archive keeps: a positive `N`, or off")
	fs.Var(&c.maxBytes, "max-bytes", "the most bytes of values the archive keeps: a positive `N`, or off")
	c.evict.parse = sqltable.ParseEvict
	fs.Var(&c.evict, "evict", "the eviction `ORDER`: lrs, lru or lfu")
}

func (c *alterCommand) Run(ctx context.Context, args []string) (err error) {
	name := args[0]
	var opts sqlarchive.AlterOptions
	if c.ttl.set {
		if c.ttl.v < 0 {
			return usagef("alter: -ttl must not be negative, not %v", c.ttl.v)
		}
		opts.TTL = &c.ttl.v
	}
	opts.MaxEntries, opts.NoMaxEntries = c.maxEntries.options()
	opts.MaxBytes, opts.NoMaxBytes = c.maxBytes.options()
	if c.evict.set {
		opts.Evict = &c.evict.v
	}
	if opts == (sqlarchive.AlterOptions{}) {
		return usagef("alter: nothing to change: give -ttl, -max-entries, -max-bytes or -evict")
	}
	a, err := c.openArchive(ctx, c.db, false)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, a) }()
	info, err := a.Alter(ctx, name, opts)
	if err != nil {
		return a.explain(err, name)
	}
	return writeSettings(c.stdout, c.json, info)
}

// writeSettings prints the settings of the archive info describes.
func writeSettings(w0 io.Writer, asJSON bool, info sqlarchive.TableInfo) error {
	b := info.Bounds
	if asJSON {
		return writeJSON(w0, struct {
			Name       string  `json:"name"`
			TTLSeconds float64 `json:"ttl_seconds"`
			MaxEntries int64   `json:"max_entries"`
			MaxBytes   int64   `json:"max_bytes"`
			Evict      string  `json:"evict"`
		}{info.Name, info.TTL.Seconds(), b.MaxEntries, b.MaxBytes, b.Evict.String()})
	}
	w := newTable(w0)
	fmt.Fprintf(w, "name\t%s\nttl\t%s\nmax_entries\t%s\nmax_bytes\t%s\nevict\t%s\n",
		info.Name, formatTTL(info.TTL), formatBound(b.MaxEntries), formatBound(b.MaxBytes), b.Evict)
	return w.Flush()
}

// formatBound returns a bound for text output, or "-" for none.
func formatBound(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

// formatBounds returns bounds for text output: "20 entries, 4096 bytes,
// evict lru", or "none" for no bound.
func formatBounds(b sqltable.Bounds) string {
	var parts []string
	if b.MaxEntries > 0 {
		parts = append(parts, plural(b.MaxEntries, "entry", "entries"))
	}
	if b.MaxBytes > 0 {
		parts = append(parts, plural(b.MaxBytes, "byte", "bytes"))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ") + ", evict " + b.Evict.String()
}

// optionalFlag is a flag that remembers whether it was given.
type optionalFlag[T any] struct {
	v     T
	set   bool
	parse func(string) (T, error)
}

func (f *optionalFlag[T]) String() string {
	if f == nil || !f.set {
		return ""
	}
	return fmt.Sprint(f.v)
}

func (f *optionalFlag[T]) Set(s string) error {
	v, err := f.parse(s)
	if err != nil {
		return err
	}
	f.v, f.set = v, true
	return nil
}

// boundFlag is -max-entries or -max-bytes: a positive number, or off.
type boundFlag struct {
	n   int64
	set bool
	off bool
}

func (f *boundFlag) String() string {
	switch {
	case f == nil || !f.set:
		return ""
	case f.off:
		return "off"
	}
	return strconv.FormatInt(f.n, 10)
}

func (f *boundFlag) Set(s string) error {
	if s == "off" {
		f.set, f.off = true, true
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number, nor off", s)
	}
	if n <= 0 {
		return fmt.Errorf("%d is not a bound: it must be positive (off removes the bound)", n)
	}
	f.n, f.set, f.off = n, true, false
	return nil
}

// options returns the fields of sqlarchive.AlterOptions that f sets.
func (f *boundFlag) options() (*int64, bool) {
	switch {
	case !f.set:
		return nil, false
	case f.off:
		return nil, true
	}
	return &f.n, false
}

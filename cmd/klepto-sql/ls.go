package main

import (
	"context"
	"flag"
	"fmt"
	"time"
)

// lsCommand lists the archives of a database.
type lsCommand struct {
	*env
	db   string
	json bool
}

func (c *lsCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "ls",
		max:     0,
		summary: "list the archives, with their size, codec, keymap, TTL and memo counts",
		text: `Ls lists every archive of the database's catalog: its name, rows (expired ones
included), bytes of values, codec, keymap, TTL and creation time, and the
counts of the memos over it, summed over every process (hits, misses and
loads, as stats prints them), with how long ago they were last added to
(COUNTED; stats_at with -json). With -json it also gives the Go types of a
memoized function's result and argument, result_type and args_type, once a
program's sqlarchive.Memoize has recorded them. Tables of the database that are not
archives are not listed. Counting rows and bytes reads each archive's table.

An archive whose catalog row is broken (written or changed by other tools,
with an unknown codec, say) is listed as broken, with the reason on stderr
(with -json, in its "broken" field instead); the others are listed as usual. Other commands
refuse a broken archive; drop removes it.`,
		examples: []string{
			"klepto-sql ls",
			"klepto-sql ls -db mysql://app:secret@127.0.0.1:3306/app -json | jq '.[].name'",
		},
	}
}

func (c *lsCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	jsonFlag(fs, &c.json)
}

// archiveJSON is an archive in the output of ls -json.
type archiveJSON struct {
	Name        string    `json:"name"`
	Table       string    `json:"table"`
	Rows        int64     `json:"rows"`
	Bytes       int64     `json:"bytes"`
	Codec       string    `json:"codec"`
	Keymap      string    `json:"keymap"`
	TTLSeconds  float64   `json:"ttl_seconds"`
	FuncVersion string    `json:"func_version"`
	CreatedAt   timestamp `json:"created_at"`
	Hits        int64     `json:"hits"`
	Misses      int64     `json:"misses"`
	Loads       int64     `json:"loads"`
	StatsAt     timestamp `json:"stats_at"`
	MaxEntries  int64     `json:"max_entries"`           // 0 for no bound
	MaxBytes    int64     `json:"max_bytes"`             // 0 for no bound
	Evict       string    `json:"evict"`                 // lrs, lru or lfu
	ResultType  string    `json:"result_type,omitempty"` // the memoized function's result type
	ArgsType    string    `json:"args_type,omitempty"`   // and its argument type
	Broken      string    `json:"broken,omitempty"`      // why the catalog row is broken
}

func (c *lsCommand) Run(ctx context.Context, _ []string) (err error) {
	a, err := c.openArchive(ctx, c.db, false)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, a) }()
	infos, err := a.Tables(ctx)
	if err != nil {
		return err
	}
	list := make([]archiveJSON, 0, len(infos))
	for _, info := range infos {
		if info.Err != nil {
			list = append(list, archiveJSON{Name: info.Name, Table: info.Table, Keymap: info.Keymap,
				FuncVersion: info.FuncVersion, Broken: info.Err.Error()})
			continue
		}
		s, err := a.Stats(ctx, info.Name)
		if err != nil {
			return err
		}
		list = append(list, archiveJSON{
			Name:        info.Name,
			Table:       info.Table,
			Rows:        s.Rows,
			Bytes:       s.Bytes,
			Codec:       info.Codec.String(),
			Keymap:      info.Keymap,
			TTLSeconds:  info.TTL.Seconds(),
			FuncVersion: info.FuncVersion,
			CreatedAt:   timestamp(info.CreatedAt),
			Hits:        info.Hits,
			Misses:      info.Misses,
			Loads:       info.Loads,
			StatsAt:     timestamp(info.StatsAt),
			MaxEntries:  info.Bounds.MaxEntries,
			MaxBytes:    info.Bounds.MaxBytes,
			Evict:       info.Bounds.Evict.String(),
			ResultType:  info.ResultType,
			ArgsType:    info.ArgsType,
		})
	}
	if c.json {
		return writeJSON(c.stdout, list)
	}
	w := newTable(c.stdout)
	fmt.Fprintln(w, "NAME\tROWS\tBYTES\tCODEC\tKEYMAP\tTTL\tCREATED\tHITS\tMISSES\tLOADS\tCOUNTED")
	now := time.Now()
	for i, x := range list {
		if x.Broken != "" {
			fmt.Fprintf(w, "%s\t-\t-\tbroken\t%s\t-\t-\t-\t-\t-\t-\n", x.Name, printable(x.Keymap))
			continue
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", x.Name, x.Rows, x.Bytes, x.Codec, printable(x.Keymap),
			formatTTL(infos[i].TTL), formatTime(infos[i].CreatedAt), x.Hits, x.Misses, x.Loads, formatAgo(infos[i].StatsAt, now))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, info := range infos {
		if info.Err != nil {
			fmt.Fprintf(c.stderr, "klepto-sql: %v\n", info.Err)
		}
	}
	return nil
}

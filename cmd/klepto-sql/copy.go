package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/klepto-sql/klepto/sqlarchive"
)

// copyCommand copies archives to another database.
type copyCommand struct {
	*env
	db      string
	to      string
	json    bool
	skipBad bool

	skipMigrate bool
}

func (c *copyCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "copy",
		args:    "[NAME...]",
		max:     -1,
		summary: "copy archives to another database",
		text: `Copy copies the archives NAME, or all of them, from the database of -db to the
database of -to, which may be of another kind (SQLite to PostgreSQL,
PostgreSQL to MySQL, and so on). An archive missing in the target is created
with the same codec, keymap and TTL; one that exists must have them too.
Entries that have not expired are copied with their arguments and timestamps,
in batches, each written in one transaction; entries the target holds already
are overwritten, others left alone. So copy can run again after an
interruption, and finishes the job. It applies klepto's migrations to the
target if it needs them.

A row that cannot be read, written by other tools or damaged (such as one
whose key_hash is not the SHA-256 of its key_text), is never copied: it stops
the copy with an error naming the table and the key. With -skip-bad, such
rows are skipped, and their number, with the first few, is written to stderr;
copying all archives, it also skips those whose catalog row is broken (see
ls).`,
		examples: []string{
			"klepto-sql copy -db sqlite:cache.db -to 'postgres://app:secret@db.internal/app?sslmode=require'",
			"klepto-sql copy -db postgres://app@db1/app -to mysql://app@db2:3306/app fib users",
		},
	}
}

func (c *copyCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	fs.BoolVar(&c.skipMigrate, "skip-migrate", false, "apply no migration to the -to database: another tool keeps klepto's schema")
	fs.StringVar(&c.to, "to", "", "the `DSN` of the database to copy to (required)")
	jsonFlag(fs, &c.json)
	skipBadFlag(fs, &c.skipBad)
}

// copiedJSON is an archive in the output of copy -json.
type copiedJSON struct {
	Name    string `json:"name"`
	Entries int    `json:"entries"`
	Skipped int    `json:"skipped"` // bad rows skipped, with -skip-bad
}

func (c *copyCommand) Run(ctx context.Context, args []string) (err error) {
	if c.to == "" {
		return usagef("copy: missing -to, the database to copy to")
	}
	c.secret(c.to)
	from, err := c.resolve(c.db)
	if err != nil {
		return err
	}
	to, err := parseDSN(c.to)
	if err != nil {
		return fmt.Errorf("-to: %w", err)
	}
	if from.driver == to.driver && from.dsn == to.dsn {
		return usagef("copy: -to names the database of -db")
	}
	src, err := c.openArchive(ctx, c.db, false)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, src) }()
	dst, err := c.openArchive(ctx, c.to, !c.skipMigrate)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, dst) }()

	names := args
	if len(names) == 0 {
		infos, err := src.Tables(ctx)
		if err != nil {
			return err
		}
		for _, info := range infos {
			if info.Err != nil {
				if !c.skipBad {
					return fmt.Errorf("%w (-skip-bad skips such archives)", info.Err)
				}
				fmt.Fprintf(c.stderr, "klepto-sql: skipped: %v\n", info.Err)
				continue
			}
			names = append(names, info.Name)
		}
	}
	for _, name := range names {
		if _, err := src.info(ctx, name); err != nil {
			return err
		}
	}
	var progress *bar // of the entries, not of the archives
	if isTerminal(c.stderr) {
		total, err := liveEntries(ctx, src, names)
		if err != nil {
			return err
		}
		progress = c.progress(total, "copy", false)
	}
	copied := make([]copiedJSON, 0, len(names))
	for _, name := range names {
		opts := &sqlarchive.CopyOptions{SkipBadRows: c.skipBad, Progress: progress.add}
		res, err := sqlarchive.Copy(ctx, dst.Archive, src.Archive, name, opts)
		reportSkipped(c.stderr, name, res.Skipped, res.BadRows)
		if err != nil {
			return badRowHint(err)
		}
		copied = append(copied, copiedJSON{name, res.Entries, res.Skipped})
	}
	progress.finish()
	if c.json {
		return writeJSON(c.stdout, copied)
	}
	w := newTable(c.stdout)
	fmt.Fprintln(w, "NAME\tENTRIES")
	for _, x := range copied {
		fmt.Fprintf(w, "%s\t%d\n", x.Name, x.Entries)
	}
	return w.Flush()
}

// liveEntries returns the number of entries of the archives names of a
// that have not expired.
func liveEntries(ctx context.Context, a *archive, names []string) (int64, error) {
	var total int64
	for _, name := range names {
		s, err := a.Stats(ctx, name)
		if err != nil {
			return 0, err
		}
		total += s.Rows - s.Expired
	}
	return total, nil
}

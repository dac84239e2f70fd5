package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/migrations"
)

// migrateCommand applies, reverts, inspects and exports klepto's schema.
type migrateCommand struct {
	*env
	db      string
	json    bool
	yes     bool
	dir     string
	dialect string
	start   uint64
}

func (c *migrateCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "migrate",
		args:    "up | down [N] | version | force V | status | sql | generate",
		need:    []string{"up, down, version, force, status, sql or generate"},
		max:     2,
		summary: "apply, revert, inspect or export klepto's schema",
		text: `Migrate manages klepto's own tables (the catalog klepto_archives, the change
feed klepto_changes, the leases klepto_leases, and the version record
klepto_schema_migrations):

  up         apply every pending migration
  down [N]   revert the last N migrations, all of them by default, dropping
             klepto's tables: the catalog of the archives among them (-yes)
  version    print the applied version, and whether it is dirty
  force V    record version V as applied and clean, after repairing by hand
  status     print the recorded version, the version that klepto's tables
             match, and every migration
  sql        print the DDL of every migration, for your own tools
  generate   write the migration files into -dir, for your own migration
             pipeline (golang-migrate naming), numbered after the folder's
             own migrations, or from -start

A migration that fails leaves the version it started from: on PostgreSQL and
SQLite it runs in one transaction with its version record; on MySQL each
migration is one statement, applied whole or not at all, and up finds the
version that klepto's tables match if a run was cut off.

down leaves the tables of the archives where they are, with their rows: only
the catalog that listed them goes. Once up has made the catalog again, create
-adopt NAME lists such a table again as the archive NAME, if its layout is
klepto's, and drop -orphan NAME -yes drops it.

sql and generate need no database: they use the dialect of -db, or -dialect.
When your own tool applies the generated files, klepto_schema_migrations
records nothing: create, import and copy, which apply pending migrations
themselves, find klepto's tables and use them as they are, and status says
so; -skip-migrate on create leaves the schema alone whatever it is.`,
		examples: []string{
			"klepto-sql migrate up -db postgres://app@db.internal/app",
			"klepto-sql migrate status",
			"klepto-sql migrate down 1 -yes",
			"klepto-sql migrate sql -dialect mysql > klepto.sql",
			"klepto-sql migrate generate -dialect postgres -dir db/migrations",
			"klepto-sql migrate generate -dialect mysql -dir db/migrations -start 20261205103000",
		},
	}
}

func (c *migrateCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	jsonFlag(fs, &c.json)
	yesFlag(fs, &c.yes, "migrate down drops klepto's tables")
	fs.StringVar(&c.dir, "dir", "", "the `folder` generate writes into")
	fs.Uint64Var(&c.start, "start", 0, "the `version` of the first file generate writes; default after the folder's own migrations")
	fs.StringVar(&c.dialect, "dialect", "", "the `dialect` of sql and generate: sqlite, postgres or mysql; default the dialect of -db")
}

func (c *migrateCommand) Run(ctx context.Context, args []string) error {
	sub, rest := args[0], args[1:]
	wantArgs := func(n int, what string) error {
		if len(rest) < n {
			return usagef("migrate %s: missing %s", sub, what)
		}
		if len(rest) > n {
			return usagef("migrate %s: unexpected argument %q", sub, rest[n])
		}
		return nil
	}
	switch sub {
	case "sql", "generate":
		if err := wantArgs(0, ""); err != nil {
			return err
		}
		d, err := c.sqlDialect()
		if err != nil {
			return err
		}
		if sub == "sql" {
			return c.sql(d)
		}
		return c.generate(d)
	case "up", "version", "status":
		if err := wantArgs(0, ""); err != nil {
			return err
		}
	case "down":
		if len(rest) == 0 {
			break
		}
		if err := wantArgs(1, "N"); err != nil {
			return err
		}
	case "force":
		if err := wantArgs(1, "V, the version to record"); err != nil {
			return err
		}
	default:
		return usagef("migrate: unknown subcommand %q: want up, down, version, force, status, sql or generate", sub)
	}

	db, err := c.resolve(c.db)
	if err != nil {
		return err
	}
	c.noteDefault(db, sub == "up")
	pool, err := db.open(ctx, sub == "up")
	if err != nil {
		return err
	}
	defer func() { _ = pool.Close() }()
	opts := &migrations.Options{Dialect: db.dialect}
	before, _, err := migrations.Version(ctx, pool, opts)
	if err != nil {
		return err
	}
	switch sub {
	case "up":
		err = migrations.Up(ctx, pool, opts)
	case "down":
		steps := math.MaxInt32 // all
		if len(rest) == 1 {
			if steps, err = strconv.Atoi(rest[0]); err != nil || steps < 1 {
				return usagef("migrate down: N must be a number of migrations, at least 1, not %q", rest[0])
			}
		}
		if err := c.confirm(c.yes, "revert "+plural(min(steps, int(before)), "migration", "migrations")+" of "+db.shown+
			", dropping klepto's tables (the archive tables stay, with their rows)"); err != nil {
			return err
		}
		err = migrations.Down(ctx, pool, steps, opts)
	case "force":
		v, perr := strconv.ParseUint(rest[0], 10, 32)
		if perr != nil {
			return usagef("migrate force: V must be a version number, not %q", rest[0])
		}
		err = migrations.Force(ctx, pool, uint(v), opts)
	case "status":
		return c.status(ctx, pool, opts)
	}
	if err != nil && !errors.Is(err, migrations.ErrNoChange) {
		return err
	}
	after, dirty, err := migrations.Version(ctx, pool, opts)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(c.stdout, struct {
			Version  uint `json:"version"`
			Dirty    bool `json:"dirty"`
			Previous uint `json:"previous"`
		}{after, dirty, before})
	}
	switch {
	case sub == "version" && dirty:
		_, err = fmt.Fprintf(c.stdout, "%d (dirty)\n", after)
	case sub == "version":
		_, err = fmt.Fprintf(c.stdout, "%d\n", after)
	case before == after:
		_, err = fmt.Fprintf(c.stdout, "no change: at version %d\n", after)
	default:
		_, err = fmt.Fprintf(c.stdout, "version %d (was %d)\n", after, before)
	}
	return err
}

// sqlDialect returns the dialect of sql and generate.
func (c *migrateCommand) sqlDialect() (*dialect.Dialect, error) {
	if c.dialect != "" {
		d, err := dialect.Lookup(c.dialect)
		if err != nil {
			return nil, usagef("migrate: -dialect: %v", err)
		}
		return d, nil
	}
	db, err := c.resolve(c.db)
	if err != nil {
		return nil, err
	}
	return db.dialect, nil
}

func (c *migrateCommand) sql(d *dialect.Dialect) error {
	script, err := migrations.SQL(d)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(c.stdout, struct {
			Dialect string `json:"dialect"`
			SQL     string `json:"sql"`
		}{d.Name(), script})
	}
	_, err = fmt.Fprint(c.stdout, script)
	return err
}

func (c *migrateCommand) generate(d *dialect.Dialect) error {
	if c.dir == "" {
		return usagef("migrate generate: missing -dir, the folder to write into")
	}
	files, err := migrations.Generate(d, c.dir, &migrations.GenerateOptions{Start: c.start})
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(c.stdout, struct {
			Files []string `json:"files"`
		}{files})
	}
	for _, f := range files {
		if _, err := fmt.Fprintln(c.stdout, f); err != nil {
			return err
		}
	}
	return nil
}

// migrationJSON is a migration in the output of status -json.
type migrationJSON struct {
	Version uint   `json:"version"`
	Name    string `json:"name"`
	Applied bool   `json:"applied"` // recorded in klepto_schema_migrations
	Present bool   `json:"present"` // its tables are there
}

func (c *migrateCommand) status(ctx context.Context, pool *sql.DB, opts *migrations.Options) error {
	s, err := migrations.Status(ctx, pool, opts)
	if err != nil {
		return err
	}
	list := make([]migrationJSON, len(s.Migrations))
	for i, m := range s.Migrations {
		list[i] = migrationJSON{m.Version, m.Name, m.Version <= s.Version, !s.Found.Mixed && m.Version <= s.Found.Version}
	}
	if c.json {
		return writeJSON(c.stdout, struct {
			Version    uint            `json:"version"`
			Dirty      bool            `json:"dirty"`
			Latest     uint            `json:"latest"`
			Found      uint            `json:"found"`
			FoundMixed bool            `json:"found_mixed"`
			Agrees     bool            `json:"agrees"`
			Migrations []migrationJSON `json:"migrations"`
		}{s.Version, s.Dirty, s.Latest(), s.Found.Version, s.Found.Mixed, s.Agrees(), list})
	}
	state := ""
	if s.Dirty {
		state = " (dirty: a migration failed part way)"
	}
	fmt.Fprintf(c.stdout, "version %d of %d recorded in %s%s\n", s.Version, s.Latest(), migrations.MigrationsTable, state)
	switch {
	case s.Agrees():
	case s.Found.Mixed:
		fmt.Fprintf(c.stdout, "klepto's tables match no single version: repair them by hand, then run migrate force V with the version they match\n")
	case !s.Dirty && s.Found.Version == s.Latest():
		fmt.Fprintf(c.stdout, "klepto's tables match version %d: another tool applied the migrations, and klepto uses the tables as they are;\n"+
			"run migrate force %d to let klepto apply the later ones itself\n", s.Found.Version, s.Found.Version)
	default:
		fmt.Fprintf(c.stdout, "klepto's tables match version %d: check them, then run migrate force %d\n", s.Found.Version, s.Found.Version)
	}
	fmt.Fprintln(c.stdout)
	w := newTable(c.stdout)
	fmt.Fprintln(w, "VERSION\tNAME\tSTATE")
	for _, m := range list {
		var state string
		switch {
		case m.Applied && m.Present:
			state = "applied"
		case m.Applied:
			state = "recorded, tables missing"
		case m.Present:
			state = "present, not recorded"
		default:
			state = "pending"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\n", m.Version, m.Name, state)
	}
	return w.Flush()
}

// plural returns "1 entry" or "n entries".
func plural[N int | int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(int64(n), 10) + " " + many
}

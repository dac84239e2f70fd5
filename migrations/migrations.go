package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/klepto-sql/klepto/dialect"
)

// The tables of klepto's own schema.
const (
	// MigrationsTable records the applied version, for golang-migrate. It is
	// not schema_migrations, so it never collides with an application's own.
	MigrationsTable = "klepto_schema_migrations"
	// ArchivesTable is the catalog of archives, one row per archive table.
	ArchivesTable = "klepto_archives"
	// ChangesTable is the change feed: the changes that can make another
	// process's memory stale, which package sqltable records and package
	// sqlarchive follows.
	ChangesTable = "klepto_changes"
	// LeasesTable holds the leases of keys being computed, so that one
	// process computes a key while the others wait (see package
	// sqlarchive).
	LeasesTable = "klepto_leases"
)

// ErrNoChange is returned by [Up] and [Down] when there was nothing to do.
var ErrNoChange = errors.New("migrations: no change")

// ErrLocked is wrapped by the error of a migration that could not take the
// migration lock in time, because another migration held it.
var ErrLocked = errors.New("migrations: database is locked by another migration")

// DirtyError reports that the version record is marked dirty at Version:
// a migration failed part way under golang-migrate's own drivers, or an
// earlier release of this package, or a MySQL migration was cut off between
// its statement and its version record. Nothing more migrates until the
// schema is checked and [Force] records the version it matches, which
// Found tells; on MySQL, [Up] does so itself when the tables match one
// version.
type DirtyError struct {
	Version uint  // the version whose migration failed
	Found   Found // the version that klepto's tables match
}

// Error implements the error interface. It says what to run, as in
// `migrations: database is dirty at version 3 (a migration failed part
// way); klepto's tables match version 2: check them, then run "klepto-sql
// migrate force 2"`.
func (e *DirtyError) Error() string {
	return fmt.Sprintf("migrations: database is dirty at version %d (a migration failed part way); klepto's tables match %s",
		e.Version, e.Found.advice())
}

// SchemaError reports that klepto's tables are not those of the recorded
// version: another tool, such as golang-migrate's own command with the
// files of [Generate], applied or reverted klepto's migrations, or someone
// created or dropped klepto's tables by hand. [Up] returns it, before any
// statement, rather than fail part way on a table that exists already.
type SchemaError struct {
	Recorded uint  // the version that klepto_schema_migrations records; 0 if none
	Found    Found // the version that klepto's tables match
}

// Error implements the error interface. It says what to run, as in
// `migrations: klepto_schema_migrations records version 4, but klepto's
// tables match version 3: check them, then run "klepto-sql migrate force 3"`.
func (e *SchemaError) Error() string {
	advice := e.Found.advice()
	if !e.Found.Mixed && e.Found.Version > e.Recorded {
		advice = fmt.Sprintf("version %d: if another tool applies klepto's migrations, leave them to it "+
			"(sqlarchive.Options.SkipMigrate, klepto-sql create -skip-migrate); otherwise check them, "+
			"then run \"klepto-sql migrate force %d\"", e.Found.Version, e.Found.Version)
	}
	return fmt.Sprintf("migrations: %s records version %d, but klepto's tables match %s", MigrationsTable, e.Recorded, advice)
}

// advice says what klepto's tables match, as f describes them, and what to
// run.
func (f Found) advice() string {
	if f.Mixed {
		return "no single version: repair them by hand, then run \"klepto-sql migrate force V\" with the version they match"
	}
	return fmt.Sprintf("version %d: check them, then run \"klepto-sql migrate force %d\"", f.Version, f.Version)
}

// Options configure [Up], [Down], [Version], [Force] and [Status]. A nil
// *Options and the zero value both mean: the dialect found from db's
// driver.
type Options struct {
	// Dialect is the dialect of the database: dialect.SQLite,
	// dialect.MySQL or dialect.Postgres. Nil means the one that
	// dialect.Detect finds from the driver of the *sql.DB. A named dialect
	// that does not match the driver is an error wrapping a
	// *dialect.MismatchError, before any statement runs.
	Dialect *dialect.Dialect
}

// resolve returns the dialect of db that opts names or that its driver
// shows, for the operation op.
func resolve(ctx context.Context, db *sql.DB, opts *Options, op string) (*dialect.Dialect, error) {
	if db == nil {
		return nil, fmt.Errorf("migrations: %s: nil *sql.DB", op)
	}
	var named *dialect.Dialect
	if opts != nil {
		named = opts.Dialect
	}
	d, err := dialect.Resolve(ctx, db, named)
	if err != nil {
		return nil, fmt.Errorf("migrations: %s: %w", op, err)
	}
	return d, nil
}

// Migration is one embedded migration.
type Migration struct {
	Version uint   // its version, from 1
	Name    string // its name, such as "klepto_archives"
}

// State is the migration state of a database. See [Status].
type State struct {
	Version    uint        // the applied version, as klepto_schema_migrations records it; 0 if none
	Dirty      bool        // whether the migration to Version failed part way
	Found      Found       // the version that klepto's tables match, found by looking at them
	Migrations []Migration // every embedded migration, in order
}

// Agrees reports whether the tables match the recorded version, clean.
func (s State) Agrees() bool {
	return !s.Dirty && !s.Found.Mixed && s.Found.Version == s.Version
}

// Latest returns the version of the last embedded migration.
func (s State) Latest() uint {
	if len(s.Migrations) == 0 {
		return 0
	}
	return s.Migrations[len(s.Migrations)-1].Version
}

// Pending returns the migrations that [Up] would apply.
func (s State) Pending() []Migration {
	i := slices.IndexFunc(s.Migrations, func(m Migration) bool { return m.Version > s.Version })
	if i < 0 {
		return nil
	}
	return s.Migrations[i:]
}

//go:embed sqlite mysql postgres
var files embed.FS

// fileName matches golang-migrate's file names.
var fileName = regexp.MustCompile(`^([0-9]+)_(.+)\.(up|down)\.sql$`)

// dir returns the folder of d's migrations.
func dir(d *dialect.Dialect) (string, error) {
	switch d {
	case dialect.SQLite, dialect.MySQL, dialect.Postgres:
		return d.Name(), nil
	case nil:
		return "", errors.New("migrations: nil dialect")
	}
	return "", fmt.Errorf("migrations: unknown dialect %v", d)
}

// List returns the embedded migrations of d, in order.
func List(d *dialect.Dialect) ([]Migration, error) {
	dir, err := dir(d)
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var list []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil || m[3] != "up" {
			continue
		}
		v, err := strconv.ParseUint(m[1], 10, 0)
		if err != nil {
			return nil, fmt.Errorf("migrations: %s: %w", e.Name(), err)
		}
		list = append(list, Migration{Version: uint(v), Name: m[2]})
	}
	return list, nil
}

// Up applies every pending migration to db. opts may be nil. It returns
// [ErrNoChange] if there was none; a [*SchemaError], before any statement,
// if klepto's tables do not match the recorded version; a [*DirtyError] if
// the record is dirty (on MySQL only if the tables match no single
// version: otherwise Up records the one they match and goes on); and an
// error wrapping [ErrLocked] if another migration held the lock for too
// long. A migration that fails leaves the version it started from (see
// the package documentation), and its error wraps the driver's error.
//
// Up is safe to call from several processes at once: they take turns, and
// the later ones find nothing to do. A migration waits for the one running
// until ctx is done on SQLite, and then returns ctx's error; at most a minute
// (or until ctx's deadline) on MySQL and PostgreSQL, and then returns
// [ErrLocked]. Up stops between two migrations when ctx is done.
//
// Up runs golang-migrate on a connection of its own from db, closed
// afterwards (on SQLite, under a file lock beside the database file); it
// never closes db. On SQLite, pass a pool that may write, not a reader
// opened with [dialect.SQLiteReaderDSN].
func Up(ctx context.Context, db *sql.DB, opts *Options) error {
	d, err := resolve(ctx, db, opts, "up")
	if err != nil {
		return err
	}
	return run(ctx, db, d, "up", func(m *migrate.Migrate, drv *connDriver) error {
		if err := drv.check(); err != nil {
			return err
		}
		return m.Up()
	})
}

// Down reverts the last steps applied migrations on db, or all of them if
// fewer are applied; steps must be at least 1. opts may be nil. It returns
// [ErrNoChange] if no migration is applied, and otherwise behaves as [Up].
//
// WARNING: reverting a migration drops its tables with all their rows.
// Reverting the first drops the catalog but leaves the archive tables, with
// their rows, outside it (see sqlarchive.Adopt and
// sqlarchive.Archive.DropOrphan).
func Down(ctx context.Context, db *sql.DB, steps int, opts *Options) error {
	if steps < 1 {
		return fmt.Errorf("migrations: down: %d steps; want at least 1", steps)
	}
	d, err := resolve(ctx, db, opts, "down")
	if err != nil {
		return err
	}
	list, err := List(d)
	if err != nil {
		return err
	}
	return run(ctx, db, d, "down", func(m *migrate.Migrate, _ *connDriver) error {
		v, dirty, err := m.Version()
		if errors.Is(err, migrate.ErrNilVersion) {
			return migrate.ErrNoChange
		}
		if err != nil {
			return err
		}
		if dirty {
			return migrate.ErrDirty{Version: int(v)}
		}
		i := slices.IndexFunc(list, func(m Migration) bool { return m.Version == v })
		if i < 0 {
			return fmt.Errorf("the database is at version %d, which this program does not know", v)
		}
		return m.Steps(-min(steps, i+1))
	})
}

// Version returns the version of the last migration applied to db, 0 if
// none, and whether it failed part way (see [DirtyError]). opts may be nil.
func Version(ctx context.Context, db *sql.DB, opts *Options) (version uint, dirty bool, err error) {
	d, err := resolve(ctx, db, opts, "version")
	if err != nil {
		return 0, false, err
	}
	return versionOf(ctx, db, d)
}

// versionOf returns the version of db, whose dialect is d.
func versionOf(ctx context.Context, db *sql.DB, d *dialect.Dialect) (version uint, dirty bool, err error) {
	err = run(ctx, db, d, "version", func(m *migrate.Migrate, _ *connDriver) error {
		version, dirty, err = m.Version()
		if errors.Is(err, migrate.ErrNilVersion) {
			return nil
		}
		return err
	})
	return version, dirty, err
}

// Status returns the migration state of db: its version and the embedded
// migrations. opts may be nil.
func Status(ctx context.Context, db *sql.DB, opts *Options) (State, error) {
	d, err := resolve(ctx, db, opts, "status")
	if err != nil {
		return State{}, err
	}
	list, err := List(d)
	if err != nil {
		return State{}, err
	}
	v, dirty, err := versionOf(ctx, db, d)
	if err != nil {
		return State{}, err
	}
	found, err := detect(ctx, db, d)
	if err != nil {
		return State{}, fmt.Errorf("migrations: status: %w", err)
	}
	return State{Version: v, Dirty: dirty, Found: found, Migrations: list}, nil
}

// Force records version as applied and clean, without running any SQL, to
// recover from a [DirtyError] once the schema has been checked, or repaired,
// by hand. Version 0 records that no migration is applied. A version that
// is not embedded is an error. opts may be nil.
func Force(ctx context.Context, db *sql.DB, version uint, opts *Options) error {
	d, err := resolve(ctx, db, opts, "force")
	if err != nil {
		return err
	}
	list, err := List(d)
	if err != nil {
		return err
	}
	v := database.NilVersion
	if version > 0 {
		if !slices.ContainsFunc(list, func(m Migration) bool { return m.Version == version }) {
			return fmt.Errorf("migrations: force: no migration has version %d", version)
		}
		v = int(version)
	}
	return run(ctx, db, d, "force", func(m *migrate.Migrate, _ *connDriver) error { return m.Force(v) })
}

// SQL returns the DDL of every up migration of d, in order, as one script,
// for teams that apply schema changes with their own tools.
func SQL(d *dialect.Dialect) (string, error) {
	list, err := List(d)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- klepto-sql schema for %s, migrations 1 to %d.\n", d, list[len(list)-1].Version)
	for _, m := range list {
		name := fileNameOf(m, "up")
		body, err := fs.ReadFile(files, d.Name()+"/"+name)
		if err != nil {
			return "", fmt.Errorf("migrations: %w", err)
		}
		fmt.Fprintf(&b, "\n-- %s\n%s\n", name, strings.TrimSpace(string(body)))
	}
	return b.String(), nil
}

// GenerateOptions configure [Generate]. A nil *GenerateOptions and the
// zero value both mean: numbered after the folder's other migrations.
type GenerateOptions struct {
	// Start is the version of the first file; the others follow it one by
	// one. Write a number after the folder's own migrations, such as 100, or
	// a timestamp such as 20261205103000 in a folder numbered by
	// `migrate create -format 20060102150405`. Zero means: the numbers of
	// klepto's files if the folder has them already, and otherwise one more
	// than the highest version of its other migration files (1 in an empty
	// folder).
	Start uint64
}

// Generate writes the migration files of d, up and down, into the folder
// dir, created if missing, for a project's own migration pipeline, in
// golang-migrate's naming (VERSION_NAME.up.sql and .down.sql, the version
// at least four digits). opts may be nil. It returns the paths of the
// files.
//
// The files take versions that no other migration file of dir has, after
// them unless opts.Start says otherwise, so that golang-migrate applies
// them after the project's own and never finds two files of one version.
// A version taken by another file of dir is an error wrapping
// fs.ErrExist, and so is a Start that does not match the numbers of
// klepto's files already in dir. A file that already exists with the same
// content is left alone; one with other content is an error wrapping
// fs.ErrExist, and nothing is overwritten.
//
// klepto_schema_migrations does not record migrations that another tool
// applies: sqlarchive.Open finds klepto's tables and uses them as they are
// (see [SchemaError]).
func Generate(d *dialect.Dialect, dir string, opts *GenerateOptions) ([]string, error) {
	list, err := List(d)
	if err != nil {
		return nil, err
	}
	var o GenerateOptions
	if opts != nil {
		o = *opts
	}
	start, err := startOf(dir, list, o.Start)
	if err != nil {
		return nil, fmt.Errorf("migrations: generate: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("migrations: generate: %w", err)
	}
	var paths []string
	for i, m := range list {
		for _, kind := range []string{"up", "down"} {
			body, err := fs.ReadFile(files, d.Name()+"/"+fileNameOf(m, kind))
			if err != nil {
				return paths, fmt.Errorf("migrations: generate: %w", err)
			}
			path := filepath.Join(dir, fmt.Sprintf("%04d_%s.%s.sql", start+uint64(i), m.Name, kind))
			if err := writeNew(path, body); err != nil {
				return paths, fmt.Errorf("migrations: generate: %w", err)
			}
			paths = append(paths, path)
		}
	}
	return paths, nil
}

// startOf returns the version of the first of the migrations list when
// written into dir, whose migration files it reads: start if not 0.
func startOf(dir string, list []Migration, start uint64) (uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	index := make(map[string]int, len(list)) // klepto's migrations by name
	for i, m := range list {
		index[m.Name] = i
	}
	type file struct {
		name    string
		version uint64
	}
	var others []file
	kleptoStart, kleptoFile := uint64(0), ""
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		v, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", filepath.Join(dir, e.Name()), err)
		}
		if i, ok := index[m[2]]; ok && v >= uint64(i) {
			if s := v - uint64(i); kleptoFile == "" || s == kleptoStart {
				kleptoStart, kleptoFile = s, e.Name()
				continue
			}
		}
		others = append(others, file{e.Name(), v})
	}
	switch {
	case start == 0 && kleptoFile != "":
		start = kleptoStart
	case start == 0:
		start = 1
		for _, f := range others {
			start = max(start, f.version+1)
		}
	case kleptoFile != "" && start != kleptoStart:
		return 0, fmt.Errorf("%s holds klepto's migrations numbered from %d already (%s), not from %d: %w",
			dir, kleptoStart, kleptoFile, start, fs.ErrExist)
	}
	if start > math.MaxUint64-uint64(len(list)) {
		return 0, fmt.Errorf("start version %d is too large", start)
	}
	for _, f := range others {
		if f.version >= start && f.version < start+uint64(len(list)) {
			return 0, fmt.Errorf("version %d is taken by %s: %w", f.version, filepath.Join(dir, f.name), fs.ErrExist)
		}
	}
	return start, nil
}

// writeNew writes body to a new file at path, or checks that the file at
// path holds body already.
func writeNew(path string, body []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		old, rerr := os.ReadFile(path)
		if rerr != nil {
			return rerr
		}
		if string(old) != string(body) {
			return fmt.Errorf("%s exists with other content: %w", path, fs.ErrExist)
		}
		return nil
	}
	if err != nil {
		return err
	}
	_, err = f.Write(body)
	return errors.Join(err, f.Close())
}

func fileNameOf(m Migration, kind string) string {
	return fmt.Sprintf("%04d_%s.%s.sql", m.Version, m.Name, kind)
}

// lockWait bounds how long a migration waits for another to release the
// lock: the database's own lock wait (lock_timeout on PostgreSQL, GET_LOCK's
// timeout on MySQL) and golang-migrate's.
const lockWait = time.Minute

// run runs fn on a golang-migrate instance for db, with the lock that d
// needs, and translates its errors.
func run(ctx context.Context, db *sql.DB, d *dialect.Dialect, op string, fn func(*migrate.Migrate, *connDriver) error) (err error) {
	dir, err := dir(d)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("migrations: %s: %w", op, err)
	}
	wait := lockWait
	if deadline, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(deadline))
	}

	if d == dialect.SQLite {
		var unlock func() error
		if unlock, err = lockSQLite(ctx, db); err != nil {
			return fmt.Errorf("migrations: %s: %w", op, err)
		}
		defer func() {
			if uerr := unlock(); uerr != nil {
				err = errors.Join(err, fmt.Errorf("migrations: %s: unlock: %w", op, uerr))
			}
		}()
	}
	drv, err := openDriver(ctx, db, d, wait)
	if err != nil {
		return translate(op, err)
	}
	src, err := iofs.New(files, dir)
	if err != nil {
		return errors.Join(fmt.Errorf("migrations: %s: %w", op, err), drv.Close())
	}
	m, err := migrate.NewWithInstance("iofs", src, d.Name(), drv)
	if err != nil {
		return errors.Join(translate(op, err), drv.Close())
	}
	// Longer than the database's own lock waits, so that theirs, which end
	// the waiting statement, fire first.
	m.LockTimeout = wait + 15*time.Second
	stop := context.AfterFunc(ctx, func() { m.GracefulStop <- true })
	err = fn(m, drv)
	stop()
	if dirty, ok := errors.AsType[migrate.ErrDirty](err); ok {
		// Say what the tables match.
		found, derr := detect(context.WithoutCancel(ctx), drv.conn, d)
		err = &DirtyError{Version: uint(max(dirty.Version, 0)), Found: found}
		if derr != nil {
			err = errors.Join(err, derr)
		}
	}
	// Close closes the driver's connection, never db.
	_, closeErr := m.Close()
	if err != nil {
		return translate(op, err)
	}
	if closeErr != nil {
		return fmt.Errorf("migrations: %s: %w", op, closeErr)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("migrations: %s: stopped: %w", op, err)
	}
	return nil
}

// lockSQLite takes the cross-process migration lock of the SQLite database
// db: a file lock on "<database file>.klepto-migrate.lock", which exists
// only while the lock is held (see [lockFile]). Databases without a file
// can only be reached from this process, which a mutex serializes.
//
// The lock is not taken on the database file, nor on its -wal or -shm file:
// SQLite locks those with POSIX locks, which the OS drops when the process
// closes any descriptor of the file, ours included, and which on some
// systems conflict with flock. Nor is it in os.TempDir: processes with
// different temporary folders, or that reach one database through
// different paths or containers, would not exclude each other. A file
// beside the database is seen by every process that can open the database.
func lockSQLite(ctx context.Context, db *sql.DB) (unlock func() error, err error) {
	var file string
	if err := db.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		return nil, fmt.Errorf("find the database file: %w", err)
	}
	if file == "" {
		return lockMemory(ctx)
	}
	return lockFile(ctx, file+".klepto-migrate.lock")
}

// translate turns an error of golang-migrate, or of [connDriver], into
// this package's.
func translate(op string, err error) error {
	if errors.Is(err, migrate.ErrNoChange) {
		return ErrNoChange
	}
	if _, ok := errors.AsType[*DirtyError](err); ok {
		return err
	}
	if _, ok := errors.AsType[*SchemaError](err); ok {
		return err
	}
	if errors.Is(err, migrate.ErrLockTimeout) {
		err = &lockError{err}
	}
	return fmt.Errorf("migrations: %s: %w", op, err)
}

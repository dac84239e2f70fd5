package sqlarchive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqltable"
)

// TableInfo is the catalog row of one archive: what it is called, where it
// lives and how its entries are made.
type TableInfo struct {
	Name          string        // the archive's name, such as "fib" or "fib@v2"
	Table         string        // the database table holding it, such as "fib__v2"; see TableName
	FuncVersion   string        // the function version, "" for none
	Keymap        string        // keymap.Keymap.String of the keymap that makes its keys
	KeymapVersion int           // keymap.Version of the keys
	Codec         codec.Codec   // how values are encoded
	TTL           time.Duration // how long entries live; 0 for ever
	Layout        int           // the table layout, dialect.Layout when created
	CreatedAt     time.Time     // when the archive was created, in UTC
	UpdatedAt     time.Time     // when its catalog row last changed, its statistics aside, in UTC

	// Hits, Misses and Loads are the counts of cache.Info of the memos
	// that Memoize made over the archive, summed over every process and
	// every memo since the archive was created: calls served from memory,
	// calls that ran the function, and calls served from the table. Each
	// Archive adds its memos' counts every Options.StatsInterval and on
	// Close, so they lag the calls by up to that long; counts whose write
	// failed, and those of a memo garbage-collected before a flush, are
	// lost. StatsAt is when counts were last added, in UTC; zero if never.
	Hits, Misses, Loads int64
	StatsAt             time.Time

	// Bounds are the archive's bounds and eviction order (columns
	// max_entries, max_bytes and policy); the zero value bounds nothing.
	// Archive.Alter changes them.
	Bounds sqltable.Bounds

	// ResultType and ArgsType describe the Go types of the result and of
	// the argument of the function that Memoize memoizes into the archive
	// (columns result_type and args_type), such as "int" or
	// "struct{N int; Name string `json:\"name\"`}": named types with
	// their package path, structs with their field names, types and json
	// tags. Memoize records them and refuses other types; they are ""
	// until it runs, for archives made by Table, CreateLike or the
	// command.
	ResultType, ArgsType string

	// Err is nil for a catalog row that describes an archive. For a
	// broken row, one that other tools wrote or changed, whose codec is
	// unknown, whose ttl_ns is negative or whose times do not parse, it
	// says what is wrong, wrapping ErrBrokenCatalog, and the fields it
	// names hold their zero values. Archive.Tables lists broken rows; the
	// functions that open an archive refuse one with such an error, and
	// Archive.Drop drops it.
	Err error
}

// ErrBrokenCatalog is wrapped by the errors about an archive whose
// catalog row is broken (see TableInfo.Err).
var ErrBrokenCatalog = errors.New("sqlarchive: broken catalog row")

// infoColumns are the catalog's columns that TableInfo holds, in the order
// of its fields. The others are reserved (see the package documentation).
var infoColumns = []string{
	"name", "table_name", "func_version", "keymap", "keymap_version", "codec", "ttl_ns",
	"layout_version", "created_at", "updated_at", "hits", "misses", "loads", "stats_at",
	"max_entries", "max_bytes", "policy", "result_type", "args_type",
}

// insertColumns are the catalog columns a new archive sets; the others keep
// their defaults.
var insertColumns = []string{
	"name", "table_name", "func_version", "keymap", "keymap_version", "codec", "ttl_ns",
	"layout_version", "created_at", "updated_at",
	"max_entries", "max_bytes", "policy",
}

// catalogSQL holds the statements on the catalog, written once per Archive.
type catalogSQL struct {
	byName  string // the row of one archive name
	byTable string // the row of one table name
	list    string // every row
	insert  string // a new row, unless its name is taken
	delete  string // the row of one archive name
	types   string // records the types of one archive name where none are
	dropped string // the record of a dropped table in the change feed
}

func newCatalogSQL(d *dialect.Dialect) (catalogSQL, error) {
	cols := make([]string, len(infoColumns))
	for i, c := range infoColumns {
		cols[i] = d.QuoteIdent(c)
	}
	from := " FROM " + d.QuoteIdent(migrations.ArchivesTable)
	sel := "SELECT " + strings.Join(cols, ", ") + from
	insert, err := d.Upsert(dialect.Upsert{
		Table:   migrations.ArchivesTable,
		Columns: insertColumns,
		Key:     []string{"name"},
		Rows:    1,
	})
	if err != nil {
		return catalogSQL{}, err
	}
	return catalogSQL{
		byName:  d.Rebind(sel + " WHERE " + d.QuoteIdent("name") + " = ?"),
		byTable: d.Rebind(sel + " WHERE " + d.QuoteIdent("table_name") + " = ?"),
		list:    sel,
		insert:  insert,
		delete:  d.Rebind("DELETE" + from + " WHERE " + d.QuoteIdent("name") + " = ?"),
		types: d.Rebind("UPDATE " + d.QuoteIdent(migrations.ArchivesTable) + " SET " + d.QuoteIdent("result_type") + " = ?, " +
			d.QuoteIdent("args_type") + " = ? WHERE " + d.QuoteIdent("name") + " = ? AND " + d.QuoteIdent("result_type") + " IS NULL"),
		dropped: d.Rebind("INSERT INTO " + d.QuoteIdent(migrations.ChangesTable) + " (" + d.QuoteIdent("table_name") + ", " +
			d.QuoteIdent("op") + ") VALUES (?, 'drop')"),
	}, nil
}

// insertArgs returns the arguments of catalogSQL.insert for info.
func insertArgs(d *dialect.Dialect, info *TableInfo) []any {
	return []any{
		info.Name, info.Table, info.FuncVersion, info.Keymap, info.KeymapVersion,
		info.Codec.String(), int64(info.TTL), info.Layout,
		d.TimeArg(info.CreatedAt), d.TimeArg(info.UpdatedAt),
		info.Bounds.MaxEntries, info.Bounds.MaxBytes, info.Bounds.Evict.String(),
	}
}

// scanInfo scans one catalog row, selected as by catalogSQL. For a row that
// scans, but does not describe an archive that can be opened, such as one
// whose codec is unknown, it also returns broken, an error wrapping
// ErrBrokenCatalog that says what is wrong, without naming the archive.
func scanInfo(d *dialect.Dialect, row interface{ Scan(...any) error }) (info TableInfo, broken, err error) {
	var (
		codecName                 string
		ttl                       int64
		created, updated, statsAt any
		policy                    string
		resultType, argsType      sql.NullString
	)
	err = row.Scan(&info.Name, &info.Table, &info.FuncVersion, &info.Keymap, &info.KeymapVersion,
		&codecName, &ttl, &info.Layout, &created, &updated, &info.Hits, &info.Misses, &info.Loads, &statsAt,
		&info.Bounds.MaxEntries, &info.Bounds.MaxBytes, &policy, &resultType, &argsType)
	if err != nil {
		return TableInfo{}, nil, err
	}
	info.TTL = time.Duration(ttl)
	info.ResultType, info.ArgsType = resultType.String, argsType.String
	var problems []error
	if info.Codec, err = codec.Parse(codecName); err != nil {
		problems = append(problems, err)
	}
	if ttl < 0 {
		problems = append(problems, fmt.Errorf("negative ttl_ns %d", ttl))
	}
	if info.Bounds.Evict, err = sqltable.ParseEvict(policy); err != nil {
		problems = append(problems, fmt.Errorf("policy: %w", err))
	}
	if err := info.Bounds.Validate(); err != nil {
		problems = append(problems, err)
	}
	if err := d.ScanTime(&info.CreatedAt).Scan(created); err != nil {
		problems = append(problems, fmt.Errorf("created_at: %w", err))
	}
	if err := d.ScanTime(&info.UpdatedAt).Scan(updated); err != nil {
		problems = append(problems, fmt.Errorf("updated_at: %w", err))
	}
	if err := d.ScanTime(&info.StatsAt).Scan(statsAt); err != nil {
		problems = append(problems, fmt.Errorf("stats_at: %w", err))
	}
	if len(problems) > 0 {
		broken = errmark.Errorf(ErrBrokenCatalog, "broken catalog row: %w", errors.Join(problems...))
	}
	return info, broken, nil
}

// lookup returns the catalog row that query, catalogSQL.byName or byTable,
// selects with arg, and whether there is one. Callers name the archive in
// its errors. A broken row (see TableInfo.Err) is returned, found, with an
// error wrapping ErrBrokenCatalog.
func lookup(ctx context.Context, d *dialect.Dialect, q dialect.Querier, query, arg string) (TableInfo, bool, error) {
	var (
		info   TableInfo
		broken error
	)
	err := d.RetryBusy(ctx, func() (err error) {
		info, broken, err = scanInfo(d, q.QueryRowContext(ctx, query, arg))
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return TableInfo{}, false, nil
	case err != nil:
		return TableInfo{}, false, fmt.Errorf("read catalog: %w", err)
	}
	return info, true, broken
}

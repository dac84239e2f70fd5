package sqlarchive

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/errmark"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqltable"
)

// AlterOptions are the settings of an archive that [Archive.Alter]
// changes; nil fields keep theirs.
type AlterOptions struct {
	// TTL is how long entries written from now on live; zero for ever.
	// It must not be negative.
	TTL *time.Duration

	// MaxEntries and MaxBytes set the bounds of the archive's table
	// (see sqltable.Bounds): a bound must be positive, and no smaller
	// than one eviction batch. NoMaxEntries and NoMaxBytes remove them
	// instead.
	MaxEntries   *int64
	MaxBytes     *int64
	NoMaxEntries bool
	NoMaxBytes   bool

	// Evict is the eviction order: sqltable.EvictLRS, EvictLRU or
	// EvictLFU.
	Evict *sqltable.Evict
}

// validate says what is wrong with o, if anything.
func (o *AlterOptions) validate() error {
	switch {
	case o.TTL == nil && o.MaxEntries == nil && o.MaxBytes == nil && !o.NoMaxEntries && !o.NoMaxBytes && o.Evict == nil:
		return errors.New("nothing to change")
	case o.TTL != nil && *o.TTL < 0:
		return fmt.Errorf("negative TTL %v", *o.TTL)
	case o.MaxEntries != nil && o.NoMaxEntries:
		return errors.New("both MaxEntries and NoMaxEntries")
	case o.MaxBytes != nil && o.NoMaxBytes:
		return errors.New("both MaxBytes and NoMaxBytes")
	case o.MaxEntries != nil && *o.MaxEntries <= 0:
		return fmt.Errorf("MaxEntries %d is not a bound: it must be positive (NoMaxEntries removes the bound)", *o.MaxEntries)
	case o.MaxBytes != nil && *o.MaxBytes <= 0:
		return fmt.Errorf("MaxBytes %d is not a bound: it must be positive (NoMaxBytes removes the bound)", *o.MaxBytes)
	}
	return nil
}

// apply returns info changed as o says.
func (o *AlterOptions) apply(info TableInfo) TableInfo {
	if o.TTL != nil {
		info.TTL = *o.TTL
	}
	b := &info.Bounds
	switch {
	case o.NoMaxEntries:
		b.MaxEntries = 0
	case o.MaxEntries != nil:
		b.MaxEntries = *o.MaxEntries
	}
	switch {
	case o.NoMaxBytes:
		b.MaxBytes = 0
	case o.MaxBytes != nil:
		b.MaxBytes = *o.MaxBytes
	}
	if o.Evict != nil {
		b.Evict = *o.Evict
	}
	return info
}

// Alter changes the TTL, the bounds or the eviction order of the archive
// called name, in its catalog row, and records the change in the change
// feed, in one transaction, under the table's DDL lock. It returns the
// catalog row as changed.
//
// The tables of the archive that this Archive's Table and Memoize
// returned take the new settings at once; memos of other processes take
// them with the change, through the feed, and drop the archive's entries
// from memory. Tables of other processes opened by Table keep theirs
// until opened again. The next write to the table that checks the bounds
// evicts what is past them (see sqltable.Table.SetBounds); Alter itself
// evicts nothing. A new TTL applies to entries written from then on:
// entries already stored keep their expires_at.
//
// Once altered, an archive is opened with the new settings: TableOptions
// that set the old ones are a *MismatchError.
//
// Alter returns an error wrapping ErrNotFound if the catalog has no
// archive called name, and one wrapping ErrInvalidOptions if opts change
// nothing or set a negative TTL, a bound that is not positive or smaller
// than one eviction batch, or an unknown eviction order; it changes
// nothing then.
func (a *Archive) Alter(ctx context.Context, name string, opts AlterOptions) (TableInfo, error) {
	if err := a.check(); err != nil {
		return TableInfo{}, err
	}
	table, _, err := TableName(name)
	if err != nil {
		return TableInfo{}, err
	}
	if err := opts.validate(); err != nil {
		return TableInfo{}, errmark.Errorf(ErrInvalidOptions, "sqlarchive: alter %q: %w", name, err)
	}
	var altered TableInfo
	err = a.d.WithDDLLock(ctx, a.db, table, func(ctx context.Context, q dialect.Querier) error {
		info, found, err := lookup(ctx, a.d, q, a.sql.byName, name)
		if err != nil {
			return fmt.Errorf("sqlarchive: alter %q: %w", name, err)
		}
		if !found {
			return fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		altered = opts.apply(info)
		if err := altered.Bounds.Validate(); err != nil {
			return errmark.Errorf(ErrInvalidOptions, "sqlarchive: alter %q: %w", name, err)
		}
		altered.UpdatedAt = a.now().UTC()
		c := a.d.QuoteIdent
		update := a.d.Rebind("UPDATE " + c(migrations.ArchivesTable) + " SET " + c("ttl_ns") + " = ?, " +
			c("max_entries") + " = ?, " + c("max_bytes") + " = ?, " + c("policy") + " = ?, " + c("updated_at") +
			" = ? WHERE " + c("name") + " = ?")
		b := altered.Bounds
		if _, err := q.ExecContext(ctx, update, int64(altered.TTL), b.MaxEntries, b.MaxBytes, b.Evict.String(),
			a.d.TimeArg(altered.UpdatedAt), name); err != nil {
			return fmt.Errorf("sqlarchive: alter %q: write catalog: %w", name, err)
		}
		record := a.d.Rebind("INSERT INTO " + c(migrations.ChangesTable) + " (" + c("table_name") + ", " +
			c("op") + ") VALUES (?, '" + opAlter + "')")
		if _, err := q.ExecContext(ctx, record, info.Table); err != nil {
			return fmt.Errorf("sqlarchive: alter %q: record the change in the change feed: %w", name, feedError(err))
		}
		// As stored, in the precision of the database's times.
		if altered, _, err = lookup(ctx, a.d, q, a.sql.byName, name); err != nil {
			return fmt.Errorf("sqlarchive: alter %q: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return TableInfo{}, err
	}
	if err := a.applySettings(ctx, name, altered); err != nil {
		return altered, fmt.Errorf("sqlarchive: alter %q: %w", name, err)
	}
	return altered, nil
}

// opAlter is the change feed's record of a change of an archive's
// settings.
const opAlter = "alter"

// settable is what the tables of every value type have: a
// *sqltable.Table[V].
type settable interface {
	SetTTL(ttl time.Duration) error
	SetBounds(ctx context.Context, b sqltable.Bounds) error
}

// applySettings gives the tables of the archive called name that this
// Archive opened the TTL and bounds of info.
func (a *Archive) applySettings(ctx context.Context, name string, info TableInfo) error {
	a.mu.Lock()
	opened := append([]any(nil), toAny(a.opened[name])...)
	a.mu.Unlock()
	var errs []error
	for _, t := range opened {
		if s, ok := t.(settable); ok {
			errs = append(errs, s.SetTTL(info.TTL), s.SetBounds(ctx, info.Bounds))
		}
	}
	return errors.Join(errs...)
}

// toAny returns the elements of s as a []any.
func toAny[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

package sqltable

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/klepto-sql/klepto/dialect"
)

// replica is where a Table with Options.ReadDB reads: the replica's
// Querier and the statements of the single-key reads, prepared on it at
// first use when it can prepare them (a replica that has yet to replay the
// creation of the table cannot) and the Table may (Options.NoPrepare).
type replica struct {
	db Querier
	p  preparer // db, if it prepares statements

	mu     sync.Mutex // guards following fields
	ps     map[string]*sql.Stmt
	closed bool
}

// openReplica checks readDB, of Options.ReadDB, against the Table's
// dialect. It returns nil without readDB.
func (t *Table[V]) openReplica(ctx context.Context, readDB Querier) (*replica, error) {
	if readDB == nil {
		return nil, nil
	}
	if _, err := dialect.Resolve(ctx, readDB, t.d); err != nil {
		return nil, fmt.Errorf("the Querier of Options.ReadDB: %w", err)
	}
	r := &replica{db: readDB, ps: make(map[string]*sql.Stmt)}
	if !t.noPrepare {
		r.p, _ = readDB.(preparer)
	}
	return r, nil
}

// stmt returns the statement of query on the replica, prepared once.
func (r *replica) stmt(ctx context.Context, query string) (stmt, error) {
	if r.p == nil {
		return stmt{query: query}, nil
	}
	r.mu.Lock()
	ps := r.ps[query]
	r.mu.Unlock()
	if ps != nil {
		return stmt{query: query, ps: ps}, nil
	}
	ps, err := r.p.PrepareContext(ctx, query)
	if err != nil {
		return stmt{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return stmt{}, errors.Join(errTableClosed, ps.Close())
	case r.ps[query] != nil: // prepared meanwhile by another call
		return stmt{query: query, ps: r.ps[query]}, ps.Close()
	}
	r.ps[query] = ps
	return stmt{query: query, ps: ps}, nil
}

// close releases the statements prepared on the replica.
func (r *replica) close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	var errs []error
	for q, ps := range r.ps {
		errs = append(errs, ps.Close())
		delete(r.ps, q)
	}
	return errors.Join(errs...)
}

// lookup runs read, a read of one key by statement s on q that reports
// whether it found a live entry, on the replica with the query of s, and
// again on the primary (the Table's own Querier, with statement s) when the
// replica has no live entry, or not the table yet: a write the replica has
// yet to replay is never reported missing. Without a replica it reads the
// primary only.
func (t *Table[V]) lookup(ctx context.Context, s *stmt, read func(ctx context.Context, s *stmt, q Querier) (bool, error)) error {
	if r := t.replica; r != nil {
		var found bool
		err := t.do(ctx, true, func(ctx context.Context) error {
			rs, err := r.stmt(ctx, s.query)
			if err == nil {
				found, err = read(ctx, &rs, r.db)
			}
			return err
		})
		switch {
		case err != nil && !dialect.IsMissingTable(err):
			return err
		case err == nil && found:
			return nil
		}
	}
	return t.do(ctx, true, func(ctx context.Context) error {
		_, err := read(ctx, s, t.db)
		return err
	})
}

// query runs query with args where the Table reads what may lag: on the
// replica, or on the primary when the replica has not the table yet or
// there is none.
func (t *Table[V]) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if r := t.replica; r != nil {
		rows, err := r.db.QueryContext(ctx, query, args...)
		if err == nil || !dialect.IsMissingTable(err) {
			return rows, err
		}
	}
	return t.db.QueryContext(ctx, query, args...)
}

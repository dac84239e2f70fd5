package sqlarchive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
	"weak"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/migrations"
)

// DefaultStatsInterval is how often an Archive adds its memos' counts to
// the catalog, and writes the reads of its tables to their rows, when
// [Options].StatsInterval is zero.
const DefaultStatsInterval = 2 * time.Second

// statsTimeout bounds the last flush of Close.
const statsTimeout = 5 * time.Second

// catalogStats adds the counts of the memos that Memoize made to the
// catalog rows of their archives: every interval, and on Close, one UPDATE
// per archive whose counts grew, adding what they grew by.
type catalogStats struct {
	db       *sql.DB
	d        *dialect.Dialect
	now      func() time.Time
	interval time.Duration
	update   string    // hits, misses, loads, stats_at, name
	report   *reporter // of failed background flushes

	stop chan struct{}
	done chan struct{}

	flushing sync.Mutex // serializes flushes, so that no delta is added twice

	mu      sync.Mutex // guards following fields
	started bool       // run was started
	memos   []*memoCounts
	errs    []error // errors of background flushes since the last flush call
}

// memoCounts are the counts of one memo, held weakly, and what of them the
// catalog has already been given.
type memoCounts struct {
	name  string
	info  func() (cache.Info, bool) // false once the memo is garbage
	added cache.Info
}

func newCatalogStats(db *sql.DB, d *dialect.Dialect, now func() time.Time, interval time.Duration) *catalogStats {
	c := d.QuoteIdent
	s := &catalogStats{
		db: db, d: d, now: now, interval: interval,
		update: d.Rebind("UPDATE " + c(migrations.ArchivesTable) + " SET " +
			c("hits") + " = " + c("hits") + " + ?, " +
			c("misses") + " = " + c("misses") + " + ?, " +
			c("loads") + " = " + c("loads") + " + ?, " +
			c("stats_at") + " = ? WHERE " + c("name") + " = ?"),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	return s
}

// addMemo registers the memo m of the archive called name.
func addMemo[A, R any](s *catalogStats, name string, m *cache.Memo[A, R]) {
	w := weak.Make(m)
	s.mu.Lock()
	if !s.started {
		// Started with the first memo: an Archive without memos needs
		// no goroutine of its own.
		s.started = true
		go s.run()
	}
	s.memos = append(s.memos, &memoCounts{name: name, info: func() (cache.Info, bool) {
		if m := w.Value(); m != nil {
			return m.Info(), true
		}
		return cache.Info{}, false
	}})
	s.mu.Unlock()
}

func (s *catalogStats) run() {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
		err := s.flush(ctx)
		cancel()
		if err != nil {
			s.report.failed("flush stats", err)
			s.mu.Lock()
			if len(s.errs) < 16 {
				s.errs = append(s.errs, err)
			}
			s.mu.Unlock()
		}
	}
}

// grown returns how much each count grew since added: all of it if the
// count went back, as cache.Memo.Clear resets it.
func grown(now, added uint64) uint64 {
	if now < added {
		return now
	}
	return now - added
}

// flush adds to the catalog what the memos' counts grew by since the last
// flush, one UPDATE per archive. A count whose UPDATE fails is not added
// again: the catalog's counts are at most those of the calls made.
func (s *catalogStats) flush(ctx context.Context) error {
	s.flushing.Lock()
	defer s.flushing.Unlock()
	s.mu.Lock()
	memos := append([]*memoCounts(nil), s.memos...)
	s.mu.Unlock()
	type delta struct{ hits, misses, loads uint64 }
	deltas := make(map[string]delta)
	var order []string
	var gone []*memoCounts
	for _, m := range memos {
		info, ok := m.info()
		if !ok {
			gone = append(gone, m)
			continue
		}
		d := delta{grown(info.Hits, m.added.Hits), grown(info.Misses, m.added.Misses), grown(info.Loads, m.added.Loads)}
		m.added = info
		if d == (delta{}) {
			continue
		}
		if _, ok := deltas[m.name]; !ok {
			order = append(order, m.name)
		}
		sum := deltas[m.name]
		deltas[m.name] = delta{sum.hits + d.hits, sum.misses + d.misses, sum.loads + d.loads}
	}
	if len(gone) > 0 {
		s.mu.Lock()
		for _, g := range gone {
			for i, m := range s.memos {
				if m == g {
					s.memos = append(s.memos[:i], s.memos[i+1:]...)
					break
				}
			}
		}
		s.mu.Unlock()
	}
	var errs []error
	stamp := s.d.TimeArg(s.now())
	for _, name := range order {
		d := deltas[name]
		err := s.d.RetryConflict(ctx, conflictRetries, func() error {
			_, err := s.db.ExecContext(ctx, s.update, int64(d.hits), int64(d.misses), int64(d.loads), stamp, name)
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("sqlarchive: archive %q: add statistics to the catalog: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// close stops the goroutine, if it started, and adds what is left, within
// statsTimeout. Memos must not be added after.
func (s *catalogStats) close() error {
	close(s.stop)
	s.mu.Lock()
	started := s.started
	s.started = true // no run from now on
	s.mu.Unlock()
	if started {
		<-s.done
	}
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	return s.flushErrs(ctx)
}

// flushErrs flushes, and returns its errors with those of the background
// flushes since the last call.
func (s *catalogStats) flushErrs(ctx context.Context) error {
	err := s.flush(ctx)
	s.mu.Lock()
	errs := append(s.errs, err)
	s.errs = nil
	s.mu.Unlock()
	return errors.Join(errs...)
}

// FlushStats writes now what the Archive otherwise writes every
// Options.StatsInterval: the reads of its tables, to the hits and
// accessed_at columns of their rows (see sqltable.AccessLog), and what the
// counts of the memos that Memoize made grew by, to the hits, misses and
// loads of their archives' catalog rows. It returns the errors of this
// flush and of the background flushes that failed since the last one;
// counts whose flush failed are not written again. Close flushes too.
func (a *Archive) FlushStats(ctx context.Context) error {
	if err := a.check(); err != nil {
		return err
	}
	var errs []error
	a.mu.Lock()
	access := a.access
	a.mu.Unlock()
	if access != nil {
		errs = append(errs, access.Flush(ctx))
	}
	errs = append(errs, a.stats.flushErrs(ctx))
	return errors.Join(errs...)
}

// checkCatalogColumns returns an error wrapping ErrNoFeed if the catalog
// of db lacks the columns of migration 6, which the Archive's statistics
// need, or those of migration 7, which every catalog read selects.
func checkCatalogColumns(ctx context.Context, db *sql.DB, d *dialect.Dialect) error {
	for _, m := range []struct {
		columns, names string
		version        int
	}{
		{"loads, stats_at", "loads and stats_at", 6},
		{"result_type, args_type", "result_type and args_type", 7},
	} {
		// Unquoted: SQLite reads a quoted name that is no column as a string.
		rows, err := db.QueryContext(ctx, "SELECT "+m.columns+" FROM "+migrations.ArchivesTable+" WHERE 1 = 0")
		if err != nil {
			if dialect.IsMissingTable(err) || ctx.Err() != nil {
				return fmt.Errorf("sqlarchive: open: %w", err)
			}
			return fmt.Errorf("%w: its %s table has no %s columns (migration %d); run `klepto-sql migrate up`, or apply the migrations of package migrations: %w",
				ErrNoFeed, migrations.ArchivesTable, m.names, m.version, err)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("sqlarchive: open: %w", err)
		}
	}
	return nil
}

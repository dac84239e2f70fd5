package sqlarchive

import (
	"context"
	"sync"
)

// watcher queues the changes the follower reads for one Watch call, so that
// a slow reader never holds the follower up.
type watcher struct {
	mu     sync.Mutex // guards queue
	queue  []Change
	signal chan struct{} // has a value when queue may be non-empty
}

func (w *watcher) push(page []Change) {
	w.mu.Lock()
	w.queue = append(w.queue, page...)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

func (w *watcher) take() []Change {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

// Watch calls fn with each change recorded in the change feed from now on,
// in the order of their ids, until ctx is done or fn returns an error,
// which Watch returns; it returns nil when ctx ends. With a name, only the
// changes of the archive called name are passed; with "", those of every
// table, including tables the catalog does not list.
//
// Watch shares the follower of the Archive with its memos (see
// [Archive.FollowInfo]): on PostgreSQL with Options.Listener, changes reach
// fn as their transactions commit; elsewhere within Options.PollInterval.
// fn runs on the goroutine of Watch.
func (a *Archive) Watch(ctx context.Context, name string, fn func(Change) error) error {
	if err := a.check(); err != nil {
		return err
	}
	table := ""
	if name != "" {
		var err error
		if table, _, err = TableName(name); err != nil {
			return err
		}
	}
	f := a.follower
	if err := f.start(ctx); err != nil {
		return err
	}
	w := &watcher{signal: make(chan struct{}, 1)}
	f.mu.Lock()
	f.watchers[w] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.watchers, w)
		f.mu.Unlock()
	}()

	// The archive names of tables, from the catalog: read now, so that
	// the changes of an archive dropped before the follower reads them
	// still name it, and for other tables when they first change.
	infos, err := a.Tables(ctx)
	if err != nil {
		return err
	}
	names := make(map[string]string, len(infos))
	for _, info := range infos {
		names[info.Table] = info.Name
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.signal:
		}
		for _, c := range w.take() {
			if table != "" && c.Table != table {
				continue
			}
			archive, ok := names[c.Table]
			if !ok {
				info, found, err := lookup(ctx, a.d, a.db, a.sql.byTable, c.Table)
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
				if found {
					archive = info.Name
				}
				if found || c.Op != "drop" {
					names[c.Table] = archive
				}
			}
			c.Archive = archive
			if err := fn(c); err != nil {
				return err
			}
		}
	}
}

// FollowInfo returns the figures of the Archive's follower, the goroutine
// that reads the change feed for its memos and for Watch.
func (a *Archive) FollowInfo() FollowInfo { return a.follower.info() }

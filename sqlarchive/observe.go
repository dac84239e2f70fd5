package sqlarchive

import (
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/internal/ratelog"
)

// reporter passes the events of an Archive's background work (the
// follower, the janitor, the flushes of statistics, the release of leases)
// to Options.Observer, and logs their errors to Options.Logger,
// rate-limited. Its zero value, and a nil *reporter, report nothing.
type reporter struct {
	obs cache.Observer  // Options.Observer, or nil
	log *ratelog.Logger // Options.Logger, or nil
}

// Observe reports e; it is the Observer of the Archive's AccessLog.
func (r *reporter) Observe(e cache.Event) {
	if r == nil {
		return
	}
	if r.obs != nil {
		r.obs.Observe(e)
	}
	if e.Kind == cache.EventError && e.Hidden {
		r.log.Error(e.Op, e.Err)
	}
}

// failed reports err, met by the background work op: "follow", "expire",
// "flush stats", "renew lease" or "release leases".
func (r *reporter) failed(op string, err error) {
	r.Observe(cache.Event{Kind: cache.EventError, Source: cache.SourceArchive, Op: op, Count: 1, Err: err, Hidden: true})
}

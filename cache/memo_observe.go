package cache

import (
	"context"
	"log/slog"
	"time"
)

// The memo's reports: each keeps its count for Info and tells the
// Observer, if any; hide also tells the Logger.

// hit counts a call served from memory. It is small enough to inline, so
// that a memo without an Observer pays one nil check.
func (m *Memo[A, R]) hit() {
	m.hits.Add(1)
	if m.obs != nil {
		m.observeHit()
	}
}

func (m *Memo[A, R]) observeHit() {
	m.obs.Observe(Event{Kind: EventHit, Source: SourceMemo, Name: m.name, Count: 1})
}

// start returns the time an operation starts, for its event's Duration:
// the zero time when there is no Observer to tell.
func (m *Memo[A, R]) start() time.Time {
	if m.obs == nil {
		return time.Time{}
	}
	return time.Now()
}

// loaded counts a call served from the archive, whose read began at start.
func (m *Memo[A, R]) loaded(start time.Time) {
	m.loads.Add(1)
	if m.obs != nil {
		m.obs.Observe(Event{Kind: EventLoad, Source: SourceMemo, Name: m.name, Count: 1, Duration: time.Since(start)})
	}
}

// call runs the function (see invoke) and reports the run as a miss; the
// caller counts it in Info if it succeeded.
func (m *Memo[A, R]) call(ctx context.Context, args A) (R, error) {
	if m.obs == nil {
		return m.invoke(ctx, args)
	}
	start := time.Now()
	v, err := m.invoke(ctx, args)
	m.obs.Observe(Event{Kind: EventMiss, Source: SourceMemo, Name: m.name, Count: 1, Duration: time.Since(start), Err: err})
	return v, err
}

// evicted reports n entries that left memory because of its bound.
func (m *Memo[A, R]) evicted(n int) {
	if m.obs != nil && n > 0 {
		m.obs.Observe(Event{Kind: EventEvict, Source: SourceMemo, Name: m.name, Count: n})
	}
}

// failed reports err, met by op, that the caller is given.
func (m *Memo[A, R]) failed(op string, err error) {
	if m.obs != nil {
		m.obs.Observe(Event{Kind: EventError, Source: SourceMemo, Name: m.name, Op: op, Count: 1, Err: err})
	}
}

// hide counts err, met by op, that Safe hides from the caller, reports it
// and logs it.
func (m *Memo[A, R]) hide(op string, err error) {
	m.errs.Add(1)
	if m.obs != nil {
		m.obs.Observe(Event{Kind: EventError, Source: SourceMemo, Name: m.name, Op: op, Count: 1, Err: err, Hidden: true})
	}
	if m.log != nil {
		m.log.Error(op, err, slog.String("memo", m.name))
	}
}

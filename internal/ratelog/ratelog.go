// Package ratelog logs the errors that no caller sees, at most one record
// per operation and interval: the record that ends a quiet interval says
// how many errors of its operation were left out before it. A nil *Logger
// logs nothing. A Logger is safe for concurrent use.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Interval is the shortest time between two records of one operation.
const Interval = time.Minute

// Logger writes rate-limited error records to a *slog.Logger.
type Logger struct {
	l   *slog.Logger
	now func() time.Time

	mu  sync.Mutex // guards ops
	ops map[string]*opState
}

type opState struct {
	last       time.Time // of the last record
	suppressed int       // errors left out since
}

// New returns a Logger writing to l, with the time from now (time.Now if
// nil), or nil if l is nil.
func New(l *slog.Logger, now func() time.Time) *Logger {
	if l == nil {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &Logger{l: l, now: now, ops: make(map[string]*opState)}
}

// Error logs err, met by op, at level Error with the message "klepto: "+op
// and the attributes op, err, suppressed (when some were left out) and
// attrs, unless op was logged less than Interval ago: it then counts the
// error as suppressed.
func (r *Logger) Error(op string, err error, attrs ...slog.Attr) {
	if r == nil || err == nil {
		return
	}
	now := r.now()
	r.mu.Lock()
	s := r.ops[op]
	if s == nil {
		s = &opState{}
		r.ops[op] = s
	} else if now.Sub(s.last) < Interval {
		s.suppressed++
		r.mu.Unlock()
		return
	}
	suppressed := s.suppressed
	s.last, s.suppressed = now, 0
	r.mu.Unlock()
	all := make([]slog.Attr, 0, len(attrs)+3)
	all = append(all, slog.String("op", op), slog.Any("err", err))
	if suppressed > 0 {
		all = append(all, slog.Int("suppressed", suppressed))
	}
	all = append(all, attrs...)
	r.l.LogAttrs(context.Background(), slog.LevelError, "klepto: "+op, all...)
}

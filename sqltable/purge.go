package sqltable

import (
	"context"
	"time"
)

// DeleteBefore removes the entries last written before when (whose
// updated_at is earlier), expired or not, and returns how many it removed:
// with when = time.Now().Add(-24*time.Hour), the entries that were not
// written for a day. A zero when removes nothing.
func (t *Table[V]) DeleteBefore(ctx context.Context, when time.Time) (int, error) {
	if t.closed.Load() {
		return 0, t.closedf("delete before %v", when.UTC().Format(time.RFC3339Nano))
	}
	query := t.d.Rebind("DELETE FROM " + t.d.QuoteIdent(t.name) + " WHERE " + t.d.QuoteIdent("updated_at") + " < ?")
	var n int64
	err := t.change(ctx, opPurge, nil, func(ctx context.Context, q Querier) (bool, error) {
		res, err := q.ExecContext(ctx, query, t.d.TimeArg(when))
		if err != nil {
			return false, err
		}
		n, err = res.RowsAffected()
		return n > 0, err
	})
	if err != nil {
		return 0, t.errorf("delete before %v: %w", when.UTC().Format(time.RFC3339Nano), err)
	}
	return int(n), nil
}

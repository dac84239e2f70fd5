package sqltable

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/klepto-sql/klepto/dialect"
)

// Backoff between attempts: the n-th retry waits about backoffBase<<n,
// jittered by ±50% and capped at backoffMax.
const (
	backoffBase = 5 * time.Millisecond
	backoffMax  = 250 * time.Millisecond
)

// do runs fn, and runs it again after a short, jittered wait, while it
// fails with a transient error: a busy database, a deadlock or a
// serialization failure, or, when repeatable is true, a lost connection.
// It retries up to t.retries times, except that on SQLite a busy database
// is retried until ctx is done, or, without a deadline, for
// dialect.SQLiteLockWait (when retries are not turned off), as
// [dialect.Dialect.RetryBusy] does. Operations are repeatable when running them twice
// has the effect of running them once (reads, upserts, deletes of a key),
// so that it does not matter whether the server saw the first attempt. do
// stops waiting when ctx is done; its error then wraps ctx's.
func (t *Table[V]) do(ctx context.Context, repeatable bool, fn func(ctx context.Context) error) error {
	_, bounded := ctx.Deadline()
	giveUp := time.Now().Add(dialect.SQLiteLockWait)
	retries := 0
	for {
		err := fn(ctx)
		if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			// database/sql rolls back a transaction whose context is done,
			// and its next statement fails with sql.ErrTxDone: say why.
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		if err == nil || t.retries == 0 || !transient(err, repeatable) {
			return err
		}
		wait := backoff(retries)
		if t.d == dialect.SQLite && dialect.IsBusy(err) {
			// SQLite waited busy_timeout already: try again soon.
			if !bounded && !time.Now().Before(giveUp) {
				return err
			}
			wait = backoff(0)
		} else if retries++; retries > t.retries {
			return err
		}
		if werr := dialect.Sleep(ctx, wait); werr != nil {
			if errors.Is(err, werr) {
				return err
			}
			return fmt.Errorf("%w (not retried: %w)", err, werr)
		}
	}
}

// transient reports whether an operation that failed with err may succeed
// if it runs again.
func transient(err error, repeatable bool) bool {
	return dialect.Retryable(err) || repeatable && connectionLost(err)
}

// connectionLost reports whether err says the connection to the server
// broke, as when the server restarts or an administrator ends the session.
// database/sql replaces such a connection by a new one for the next
// statement.
func connectionLost(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var e interface{ SQLState() string }
	if errors.As(err, &e) {
		// Class 08: connection exception; 57P01-57P03: the server is
		// shutting down, or the session was terminated.
		s := e.SQLState()
		return strings.HasPrefix(s, "08") || s == "57P01" || s == "57P02" || s == "57P03"
	}
	return false
}

// backoff returns the wait before retry n (from 0).
func backoff(n int) time.Duration {
	d := backoffMax
	if n < 8 {
		d = min(backoffBase<<n, backoffMax)
	}
	return d/2 + rand.N(d)
}

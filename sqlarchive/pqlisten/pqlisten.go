// Package pqlisten makes the sqlarchive.Listener of a PostgreSQL database
// with lib/pq's Listener: one connection of its own, outside the
// application's pool, that listens on klepto's notification channels and
// connects again when it loses its connection.
//
//	l := pqlisten.New("postgres://app@db/app")
//	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Listener: l})
//
// The Archive closes the Listener when it closes. A Listener is safe for
// concurrent use.
package pqlisten

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// Reconnection waits: the first wait after losing the connection, doubled
// after each failed attempt up to the last.
const (
	minReconnect = 10 * time.Millisecond
	maxReconnect = time.Second
)

// Listener is a sqlarchive.Listener over lib/pq's Listener.
type Listener struct {
	l     *pq.Listener
	notes chan sqlarchive.Notification
	once  sync.Once // of Close

	listened atomic.Bool // both LISTEN commands have completed once
	up       atomic.Bool // the connection is up, per lib/pq's events

	mu  sync.Mutex // guards err
	err error
}

// New returns a Listener on the database that dsn, a lib/pq connection
// string, names; it connects in the background, and keeps trying, so that
// New never fails: Connected reports when it listens. It must reach
// PostgreSQL itself, not a pooler in transaction mode.
func New(dsn string) *Listener {
	x := &Listener{notes: make(chan sqlarchive.Notification, 64)}
	x.l = pq.NewListener(dsn, minReconnect, maxReconnect, x.event)
	go x.run()
	return x
}

// event follows lib/pq's connection events.
func (x *Listener) event(ev pq.ListenerEventType, err error) {
	switch ev {
	case pq.ListenerEventConnected, pq.ListenerEventReconnected:
		x.up.Store(true)
	case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
		x.up.Store(false)
		x.setErr(err)
	}
}

func (x *Listener) setErr(err error) {
	x.mu.Lock()
	x.err = err
	x.mu.Unlock()
}

// run listens on klepto's channels, then forwards notifications until the
// listener is closed.
func (x *Listener) run() {
	defer close(x.notes)
	listened := true
	for _, ch := range []string{migrations.ChangesTable, migrations.LeasesTable} {
		// Listen waits for a connection; lib/pq listens again on every
		// channel after reconnecting.
		if err := x.l.Listen(ch); err != nil && !errors.Is(err, pq.ErrChannelAlreadyOpen) {
			x.setErr(err)
			listened = false
		}
	}
	x.listened.Store(listened)
	for n := range x.l.NotificationChannel() {
		note := sqlarchive.Notification{Reconnected: true}
		if n != nil {
			note = sqlarchive.Notification{Channel: n.Channel, Payload: n.Extra}
		}
		// Notifications only wake the follower: when it has one waiting
		// already, another adds nothing.
		select {
		case x.notes <- note:
		default:
		}
	}
}

// Notifications returns the channel of notifications; Close closes it.
func (x *Listener) Notifications() <-chan sqlarchive.Notification { return x.notes }

// Connected reports whether the listener is connected and listening.
func (x *Listener) Connected() bool { return x.listened.Load() && x.up.Load() }

// Err returns the error of the last failed connection attempt, or nil.
func (x *Listener) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
}

// Close closes the connection. Closing twice is not an error.
func (x *Listener) Close() error {
	var err error
	x.once.Do(func() {
		x.up.Store(false)
		err = x.l.Close()
	})
	return err
}

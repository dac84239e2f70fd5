package sqlarchive

// Listener is a PostgreSQL connection that receives notifications (LISTEN)
// on the channels klepto_changes and klepto_leases, which klepto's tables
// notify when a transaction records a change or releases a lease (see
// package migrations). Given one in Options.Listener, the follower of an
// Archive reads the change feed as soon as a change commits, and processes
// waiting for a lease wake as soon as it is released, instead of at their
// next poll. They keep polling too, at Options.PollInterval, so that a lost
// listening connection delays changes no more than that.
//
// Package sqlarchive/pqlisten makes a Listener with lib/pq. The listening
// connection must reach PostgreSQL itself, not a pooler in transaction mode
// such as PgBouncer's, which does not keep LISTEN: behind one, give the
// Listener the server's address, or none.
type Listener interface {
	// Notifications returns the channel on which the listener delivers
	// the notifications it receives. Close closes it.
	Notifications() <-chan Notification
	// Connected reports whether the listener is connected and listening
	// on both channels, so that every notification reaches it.
	Connected() bool
	// Close closes the connection. Archive.Close calls it.
	Close() error
}

// Notification is a PostgreSQL notification delivered by a [Listener].
type Notification struct {
	Channel string // klepto_changes or klepto_leases
	Payload string // the schema of the table that notified
	// Reconnected reports, instead of a notification, that the listener
	// connected again after losing its connection: notifications may have
	// been lost.
	Reconnected bool
}

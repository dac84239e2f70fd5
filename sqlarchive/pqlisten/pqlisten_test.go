package pqlisten_test

import (
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqlarchive/pqlisten"
)

// wait waits up to 10 s for cond.
func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The listener receives the notification of a change as it commits, with
// the schema as payload; after its connection is killed, it reports that
// it reconnected, and listens again.
func TestListener(t *testing.T) {
	db := sqltest.Fresh(t, dialect.Postgres)
	ctx := t.Context()
	a, err := sqlarchive.Open(ctx, db.DB, dialect.Postgres, nil) // runs the migrations
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	fib, err := sqlarchive.Table[int](ctx, a, "fib", nil)
	if err != nil {
		t.Fatal(err)
	}

	// Its own application_name tells its connection apart from those of
	// tests running at the same time.
	app := "pqlisten_" + db.Name
	dsn := db.DSN + " application_name=" + app
	if strings.Contains(db.DSN, "://") {
		dsn = db.DSN + "&application_name=" + app
	}
	l := pqlisten.New(dsn)
	defer l.Close()
	wait(t, "the listener did not connect", l.Connected)

	key := keymap.NewKey("(n=1)")
	for v := range 2 { // the second Put overwrites: a change
		if err := fib.Put(ctx, key, v); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case n := <-l.Notifications():
		if n.Channel != "klepto_changes" || n.Payload != db.Name || n.Reconnected {
			t.Fatalf("notification %+v, want klepto_changes from schema %s", n, db.Name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification in 5 s")
	}

	// Kill the listening connection.
	res, err := db.DB.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = $1`, app)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatal("found no listening connection to kill")
	}
	var reconnected bool
	wait(t, "no reconnection reported", func() bool {
		select {
		case n := <-l.Notifications():
			reconnected = reconnected || n.Reconnected
		default:
		}
		return reconnected
	})
	wait(t, "not listening again", l.Connected)
	if err := fib.Put(ctx, key, 3); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-l.Notifications():
		if n.Channel != "klepto_changes" {
			t.Fatalf("notification %+v after reconnecting", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification in 5 s after reconnecting")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if l.Connected() {
		t.Fatal("Connected after Close")
	}
}

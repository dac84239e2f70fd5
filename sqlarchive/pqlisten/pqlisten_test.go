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

// next returns the next notification that is not another schema's (tests
// of other packages notify too), failing after 5 s.
func next(t *testing.T, l *pqlisten.Listener, schema string) sqlarchive.Notification {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case n := <-l.Notifications():
			if n.Reconnected || n.Payload == schema {
				return n
			}
		case <-timeout:
			t.Fatal("no notification in 5 s")
		}
	}
}

// The listener receives the notification of a change as it commits, with
// the schema as payload; after its connection is killed, it reports that
// it reconnected, and listens again.
func TestListener(t *testing.T) {
	db := sqltest.Fresh(t, dialect.Postgres)
	ctx := t.Context()
	a, err := sqlarchive.Open(ctx, db.DB, nil) // runs the migrations
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
	if n := next(t, l, db.Name); n.Channel != "klepto_changes" || n.Reconnected {
		t.Fatalf("notification %+v, want klepto_changes from schema %s", n, db.Name)
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
	if n := next(t, l, db.Name); !n.Reconnected {
		t.Fatalf("notification %+v, want the report of reconnecting", n)
	}
	wait(t, "not listening again", l.Connected)
	if err := fib.Put(ctx, key, 3); err != nil {
		t.Fatal(err)
	}
	if n := next(t, l, db.Name); n.Channel != "klepto_changes" || n.Reconnected {
		t.Fatalf("notification %+v after reconnecting, want klepto_changes", n)
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

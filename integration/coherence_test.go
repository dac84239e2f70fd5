package integration

import (
	"strconv"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
)

// coherenceBound is how soon a change made by one process must reach the
// memory of the others, at the default settings.
const coherenceBound = time.Second

// changer changes the archive "sq" from a process of its own, and returns
// when the change committed (at the latest).
type changer interface {
	put(n, v int) time.Time
	del(n int) time.Time
	purge() time.Time
	drop() time.Time
	create() time.Time
}

// libChanger changes the archive through the library: a memo server's
// sqlarchive.Table and Archive.Drop.
type libChanger struct{ s *memoServer }

func (c libChanger) put(n, v int) time.Time {
	return unixTime(c.s.must(request{Op: "put", N: n, Value: v}).At)
}
func (c libChanger) del(n int) time.Time { return unixTime(c.s.must(request{Op: "del", N: n}).At) }
func (c libChanger) purge() time.Time    { return unixTime(c.s.must(request{Op: "clear"}).At) }
func (c libChanger) drop() time.Time     { return unixTime(c.s.must(request{Op: "drop"}).At) }
func (c libChanger) create() time.Time   { return unixTime(c.s.must(request{Op: "create"}).At) }

// cliChanger changes the archive with klepto-sql; a change has committed
// when the command exits.
type cliChanger struct {
	t  testing.TB
	db sqltest.Database
}

func keyText(t testing.TB, n int) string {
	t.Helper()
	km, err := keymap.NewString(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := km.Key(sqArgs{n})
	if err != nil {
		t.Fatal(err)
	}
	return k.Text
}

func (c cliChanger) put(n, v int) time.Time {
	_, at := runCLI(c.t, c.db, "put", "sq", keyText(c.t, n), "--", strconv.Itoa(v))
	return at
}

func (c cliChanger) del(n int) time.Time {
	_, at := runCLI(c.t, c.db, "rm", "sq", keyText(c.t, n))
	return at
}

func (c cliChanger) purge() time.Time {
	_, at := runCLI(c.t, c.db, "purge", "-all", "-yes", "sq")
	return at
}

func (c cliChanger) drop() time.Time {
	_, at := runCLI(c.t, c.db, "drop", "-yes", "sq")
	return at
}

func (c cliChanger) create() time.Time {
	_, at := runCLI(c.t, c.db, "create", "sq")
	return at
}

// Process B holds a key in memory; process A overwrites it, deletes it,
// purges the archive and drops it, first through the library, then with
// klepto-sql: after each change, B serves the new state within a second,
// at the default settings (sqlarchive.DefaultPollInterval, no Listener).
// After a drop, by A alone or followed by A creating the archive again, B
// works on without a restart.
func TestCoherence(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			db := sqltest.Fresh(t, d)
			servers := startServers(t, serveConfigOf(db, "sq"), serveConfigOf(db, "sq"))
			b := servers[0]
			const n = 7
			stored := 0 // the values A stores: -1, -2, ...
			for _, a := range []struct {
				name string
				c    changer
			}{
				{"library", libChanger{servers[1]}},
				{"klepto-sql", cliChanger{t, db}},
			} {
				stored--
				v := stored
				coherent(t, b, n, a.name+" overwrite", func() time.Time { return a.c.put(n, v) }, v, false)
				coherent(t, b, n, a.name+" delete", func() time.Time { return a.c.del(n) }, square(n), true)
				coherent(t, b, n, a.name+" purge", a.c.purge, square(n), true)
				// B makes the archive again.
				coherent(t, b, n, a.name+" drop", a.c.drop, square(n), true)
				stored--
				v = stored
				// A makes the archive again, and stores a value in it.
				coherent(t, b, n, a.name+" drop, create and put", func() time.Time {
					a.c.drop()
					a.c.create()
					return a.c.put(n, v)
				}, v, false)
			}
			// Other keys work too.
			if r := b.call(n + 1); r.Value != square(n+1) || !r.Ran {
				t.Fatalf("B's call of a new key after the changes: %+v", r)
			}
		})
	}
}

// coherent checks that after change, made by another process while b holds
// the key n in memory, b serves want within coherenceBound of the change's
// commit, from the archive (ran false) or by running the function (ran
// true).
func coherent(t *testing.T, b *memoServer, n int, what string, change func() time.Time, want int, ran bool) {
	t.Helper()
	if r := b.call(n); !r.Memory {
		if r = b.call(n); !r.Memory {
			t.Fatalf("%s: B does not hold %d in memory: %+v", what, n, r)
		}
	}
	gone := b.send(request{Op: "await", N: n})
	gone.waitArmed()
	committed := change()
	g := gone.wait()
	if g.Err != "" {
		t.Fatalf("%s: %s", what, g.Err)
	}
	r := b.call(n)
	served := unixTime(r.At).Sub(committed)
	// A key that leaves memory before the last commit left it at an
	// earlier change (the drop before a create and a put).
	left := unixTime(g.At).Sub(committed).Round(time.Millisecond)
	sign := "+"
	if left < 0 {
		sign = ""
	}
	t.Logf("%s: the key left B's memory at commit%s%v; B served the new state at commit+%v",
		what, sign, left, served.Round(time.Millisecond))
	if r.Value != want || r.Ran != ran || r.Memory {
		t.Errorf("%s: B's call = %+v, want value %d, ran %v, not from memory", what, r, want, ran)
	}
	if served > coherenceBound {
		t.Errorf("%s: B served the new state %v after the commit, want within %v", what, served, coherenceBound)
	}
}

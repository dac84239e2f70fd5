package bench

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/sqlarchive"
	_ "github.com/mattn/go-sqlite3"
)

// The end-to-end memoizer over SQLite: a Zipf(1.1) trace of memoTrace calls
// over memoKeys arguments, an LRU of memoLRU entries in front of a table.
const (
	memoTrace = 100_000
	memoKeys  = 10_000
	memoLRU   = 1_000
)

// memoCalls returns the arguments of the trace.
func memoCalls() []memoArgs {
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, memoKeys-1)
	calls := make([]memoArgs, memoTrace)
	for i := range calls {
		n := int(z.Uint64())
		calls[i] = memoArgs{ID: n, Name: "user" + strconv.Itoa(n%97)}
	}
	return calls
}

// openSQLite returns a pool on a new SQLite file, with klepto's migrations
// applied (by an Archive that it closes).
func openSQLite(b *testing.B) *sql.DB {
	b.Helper()
	db, err := sql.Open("sqlite3", dialect.SQLiteDSN(filepath.Join(b.TempDir(), "memo.db")))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	a, err := sqlarchive.Open(context.Background(), db, nil)
	if err != nil {
		b.Fatal(err)
	}
	a.Close()
	return db
}

// memoCall is one memoized function, and what closes it.
type memoCall struct {
	call  func(context.Context, memoArgs) (int, error)
	close func()
}

// sqlMemoizers are the memoizers over a SQLite database: klepto's
// sqlarchive.Memoize with its defaults ("klepto": the change feed followed,
// a lease per miss, reads counted in the hits and accessed_at columns),
// the same with its timers stretched to an hour ("klepto-notimers": the
// follower's polls and the flushes of statistics, which come every 100 ms
// and 2 s, happen at Close only, so that an instruction count under
// valgrind, which slows the program fifty times, is not inflated by
// timers firing fifty times as often per call), that without the access
// statistics ("klepto-nostats") or without the lease ("klepto-nolease"),
// without the feed and the lease ("klepto-local": NoFollow, NoLease),
// and without any of the three
// ("klepto-bare": NoAccessStats too); and the same memo written by hand,
// golang-lru in front of prepared statements writing the same columns of
// a table of the same layout, with a lease statement per miss, klepto's,
// and a statement per 100 misses deleting the leases ("floor+lease"), and
// without leases ("floor").
var sqlMemoizers = []struct {
	name string
	new  func(b *testing.B, db *sql.DB) memoCall
}{
	{"klepto", func(b *testing.B, db *sql.DB) memoCall { return kleptoMemo(b, db, kleptoConfig{}) }},
	{"klepto-notimers", func(b *testing.B, db *sql.DB) memoCall { return kleptoMemo(b, db, kleptoConfig{noTimers: true}) }},
	{"klepto-nostats", func(b *testing.B, db *sql.DB) memoCall {
		return kleptoMemo(b, db, kleptoConfig{noTimers: true, noStats: true})
	}},
	{"klepto-nolease", func(b *testing.B, db *sql.DB) memoCall {
		return kleptoMemo(b, db, kleptoConfig{noTimers: true, noLease: true})
	}},
	{"klepto-local", func(b *testing.B, db *sql.DB) memoCall { return kleptoMemo(b, db, kleptoConfig{local: true}) }},
	{"klepto-bare", func(b *testing.B, db *sql.DB) memoCall {
		return kleptoMemo(b, db, kleptoConfig{local: true, noStats: true})
	}},
	{"floor+lease", func(b *testing.B, db *sql.DB) memoCall { return floorMemo(b, db, true) }},
	{"floor", func(b *testing.B, db *sql.DB) memoCall { return floorMemo(b, db, false) }},
}

// kleptoConfig says which of klepto's defaults a memoizer turns off.
type kleptoConfig struct {
	local    bool // NoFollow and NoLease
	noStats  bool // NoAccessStats
	noTimers bool // StatsInterval and PollInterval of an hour
	noLease  bool // NoLease
}

func kleptoMemo(b *testing.B, db *sql.DB, c kleptoConfig) memoCall {
	ctx := context.Background()
	o := &sqlarchive.Options{NoAccessStats: c.noStats}
	if c.noTimers {
		o.StatsInterval, o.PollInterval = time.Hour, time.Hour
	}
	a, err := sqlarchive.Open(ctx, db, o)
	if err != nil {
		b.Fatal(err)
	}
	m, err := sqlarchive.Memoize(ctx, a, "users", memoFn, &sqlarchive.MemoizeOptions[int]{
		Memo:     cache.MemoOptions[int]{MaxSize: memoLRU},
		NoFollow: c.local,
		NoLease:  c.local || c.noLease,
	})
	if err != nil {
		b.Fatal(err)
	}
	return memoCall{call: m.Call, close: func() { a.Close() }}
}

// floorMemo is the memo written by hand. Its table is made by klepto, so
// that it has the same columns and checks; its key text is what klepto's
// default keymap makes of the argument, written by hand.
func floorMemo(b *testing.B, db *sql.DB, lease bool) memoCall {
	ctx := context.Background()
	a, err := sqlarchive.Open(ctx, db, nil)
	if err != nil {
		b.Fatal(err)
	}
	t, err := sqlarchive.Table[int](ctx, a, "floor", nil)
	if err != nil {
		b.Fatal(err)
	}
	t.Close()
	a.Close()
	prepare := func(query string) *sql.Stmt {
		s, err := db.PrepareContext(ctx, query)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	get := prepare(`SELECT value FROM floor WHERE key_hash = ? AND (expires_at IS NULL OR expires_at > ?)`)
	put := prepare(`INSERT INTO floor (key_hash, key_text, args, value, size_bytes, created_at, updated_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (key_hash) DO UPDATE SET args = excluded.args,
		value = excluded.value, size_bytes = excluded.size_bytes, updated_at = excluded.updated_at, expires_at = NULL`)
	var acquire, release *sql.Stmt
	if lease {
		// The statement klepto takes a lease with: it checks that the
		// value is still absent, and takes over an expired lease.
		acquire = prepare(`INSERT INTO klepto_leases (table_name, key_hash, holder, expires_at)
			SELECT 'floor', ?, 'me', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+5 seconds')
			WHERE NOT EXISTS (SELECT 1 FROM floor WHERE key_hash = ? AND (expires_at IS NULL OR expires_at > ?))
			ON CONFLICT (table_name, key_hash) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE klepto_leases.expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`)
		release = prepare(`DELETE FROM klepto_leases WHERE table_name = 'floor' AND holder = 'me'`)
	}
	c, err := lru.New[memoArgs, int](memoLRU)
	if err != nil {
		b.Fatal(err)
	}
	misses := 0
	call := func(ctx context.Context, args memoArgs) (int, error) {
		if v, ok := c.Get(args); ok {
			return v, nil
		}
		text := "(ID=" + strconv.Itoa(args.ID) + ", Name=" + strconv.Quote(args.Name) + ")"
		hash := sha256.Sum256([]byte(text))
		now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
		var raw []byte
		switch err := get.QueryRowContext(ctx, hash[:], now).Scan(&raw); {
		case err == nil:
			var v int
			if err := json.Unmarshal(raw, &v); err != nil {
				return 0, err
			}
			c.Add(args, v)
			return v, nil
		case !errors.Is(err, sql.ErrNoRows):
			return 0, err
		}
		if lease {
			if _, err := acquire.ExecContext(ctx, hash[:], hash[:], now); err != nil {
				return 0, err
			}
		}
		v, err := memoFn(ctx, args)
		if err != nil {
			return 0, err
		}
		value, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		argsJSON, err := json.Marshal(args)
		if err != nil {
			return 0, err
		}
		if _, err := put.ExecContext(ctx, hash[:], text, string(argsJSON), string(value), len(value), now, now); err != nil {
			return 0, err
		}
		if misses++; lease && misses%100 == 0 {
			if _, err := release.ExecContext(ctx); err != nil {
				return 0, err
			}
		}
		c.Add(args, v)
		return v, nil
	}
	return memoCall{call: call, close: func() {}}
}

// BenchmarkMemoizeSQLite runs the trace through each memoizer of
// sqlMemoizers, an operation a call: "fresh" on an empty database,
// "cold" on a database that holds every result of the trace, with empty
// memory (a restart). Run it with -benchtime=100000x, one pass of the
// trace, and read calls/s.
func BenchmarkMemoizeSQLite(b *testing.B) {
	calls := memoCalls()
	for _, start := range []string{"fresh", "cold"} {
		for _, m := range sqlMemoizers {
			b.Run(start+"/"+m.name, func(b *testing.B) {
				ctx := context.Background()
				db := openSQLite(b)
				if start == "cold" {
					warm := m.new(b, db)
					for _, a := range calls {
						if _, err := warm.call(ctx, a); err != nil {
							b.Fatal(err)
						}
					}
					warm.close()
				}
				memo := m.new(b, db)
				defer memo.close()
				runTrace(b, memo, calls)
			})
		}
	}
}

// runTrace is the timed part of BenchmarkMemoizeSQLite, a function of its
// own so that a profiler can tell it from the setup (for example
// valgrind --tool=callgrind --toggle-collect='*runTrace*').
func runTrace(b *testing.B, memo memoCall, calls []memoArgs) {
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := memo.call(ctx, calls[i%len(calls)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

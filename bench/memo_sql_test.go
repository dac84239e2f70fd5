package bench

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/migrations"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// The end-to-end memoizer over a database: a Zipf(1.1) trace of memoTrace
// calls over memoKeys arguments, an LRU of memoLRU entries in front of a
// table.
const (
	memoTrace = 100_000
	memoKeys  = 10_000
	memoLRU   = 1_000
)

// memoCalls returns the arguments of the trace, the same in every run.
func memoCalls() []memoArgs {
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, memoKeys-1)
	calls := make([]memoArgs, memoTrace)
	for i := range calls {
		n := int(z.Uint64())
		calls[i] = memoArgs{ID: n, Name: "user" + strconv.Itoa(n%97)}
	}
	return calls
}

// plannedCalls returns how many calls of the trace a run makes: with
// -benchtime=Nx, N if it is shorter than the trace (which is then cut),
// otherwise the whole trace (which wraps if the run makes more calls).
func plannedCalls() int {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return memoTrace
	}
	s := f.Value.String()
	n, err := strconv.Atoi(strings.TrimSuffix(s, "x"))
	if !strings.HasSuffix(s, "x") || err != nil || n > memoTrace {
		return memoTrace
	}
	return n
}

// warm fills the database of a memoizer for a cold start: it calls memo
// once with each argument of the calls a run makes (plannedCalls), in the
// order they first appear, and closes it.
func warm(b *testing.B, memo memoCall, calls []memoArgs) {
	b.Helper()
	ctx := context.Background()
	seen := make(map[memoArgs]bool)
	for _, a := range calls[:plannedCalls()] {
		if seen[a] {
			continue
		}
		seen[a] = true
		if _, err := memo.call(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	memo.close()
}

// memoCall is one memoized function, and what closes it.
type memoCall struct {
	call  func(context.Context, memoArgs) (int, error)
	close func()
}

// memoizer makes a memoized function over a database of dialect d.
type memoizer func(b *testing.B, db *sql.DB, d *dialect.Dialect) memoCall

// sqlMemoizers are the memoizers over a database: klepto's
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
	new  memoizer
}{
	{"klepto", kleptoMemoizer(kleptoConfig{})},
	{"klepto-notimers", kleptoMemoizer(kleptoConfig{noTimers: true})},
	{"klepto-nostats", kleptoMemoizer(kleptoConfig{noTimers: true, noStats: true})},
	{"klepto-nolease", kleptoMemoizer(kleptoConfig{noTimers: true, noLease: true})},
	{"klepto-local", kleptoMemoizer(kleptoConfig{local: true})},
	{"klepto-bare", kleptoMemoizer(kleptoConfig{local: true, noStats: true})},
	{"floor+lease", floorMemoizer(true)},
	{"floor", floorMemoizer(false)},
}

// sqlMemoizer returns the memoizer of sqlMemoizers called name.
func sqlMemoizer(b *testing.B, name string) memoizer {
	for _, m := range sqlMemoizers {
		if m.name == name {
			return m.new
		}
	}
	b.Fatalf("no memoizer %q", name)
	return nil
}

// kleptoConfig says which of klepto's defaults a memoizer turns off.
type kleptoConfig struct {
	local    bool // NoFollow and NoLease
	noStats  bool // NoAccessStats
	noTimers bool // StatsInterval and PollInterval of an hour
	noLease  bool // NoLease
}

func kleptoMemoizer(c kleptoConfig) memoizer {
	return func(b *testing.B, db *sql.DB, _ *dialect.Dialect) memoCall {
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
}

// floorMemoizer returns the memo written by hand. Its table is made by
// klepto, so that it has the same columns and checks; its key text is what
// klepto's default keymap makes of the argument, written by hand; its SQL
// is written for the database's dialect. With lease, each miss takes a
// lease with klepto's statement (which checks that the value is still
// absent, and takes over an expired lease), and every 100th miss deletes
// the leases taken.
func floorMemoizer(lease bool) memoizer {
	return func(b *testing.B, db *sql.DB, d *dialect.Dialect) memoCall {
		return floorMemo(b, db, d, lease)
	}
}

func floorMemo(b *testing.B, db *sql.DB, d *dialect.Dialect, lease bool) memoCall {
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
		s, err := db.PrepareContext(ctx, d.Rebind(query))
		if err != nil {
			b.Fatalf("prepare %s: %v", query, err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	c := d.QuoteIdent
	table := c("floor")
	live := "(" + c("expires_at") + " IS NULL OR " + c("expires_at") + " > ?)"
	get := prepare("SELECT " + c("value") + " FROM " + table + " WHERE " + c("key_hash") + " = ? AND " + live)
	upsert, err := d.Upsert(dialect.Upsert{
		Table:   "floor",
		Columns: []string{"key_hash", "key_text", "args", "value", "size_bytes", "created_at", "updated_at", "expires_at"},
		Key:     []string{"key_hash"},
		Update:  []string{"args", "value", "size_bytes", "updated_at", "expires_at"},
		Rows:    1,
	})
	if err != nil {
		b.Fatal(err)
	}
	put := prepare(upsert)
	var acquire, takeover, release *sql.Stmt
	leaseTable, holder, ttl := any("floor"), any("me"), d.DurationArg(5*time.Second)
	if lease {
		// klepto's statements (sqlarchive/lease.go): the arguments of
		// acquire are the table, hash, holder, ttl, hash and now; those
		// of takeover, MySQL's, the holder, ttl, table and hash.
		leases := c(migrations.LeasesTable)
		values := "?, ?, ?, "
		if d == dialect.Postgres {
			values = "CAST(? AS text), CAST(? AS bytea), CAST(? AS text), "
		}
		insert := "INSERT INTO " + leases + " (" + c("table_name") + ", " + c("key_hash") + ", " + c("holder") + ", " +
			c("expires_at") + ") SELECT " + values + d.NowPlus()
		absent := " WHERE NOT EXISTS (SELECT 1 FROM " + table + " WHERE " + c("key_hash") + " = ? AND " + live + ")"
		mine := " WHERE " + c("table_name") + " = ? AND " + c("key_hash") + " = ?"
		if d == dialect.MySQL {
			acquire = prepare(insert + " FROM DUAL" + absent)
			takeover = prepare("UPDATE " + leases + " SET " + c("holder") + " = ?, " + c("expires_at") + " = " +
				d.NowPlus() + mine + " AND " + c("expires_at") + " < " + d.Now())
		} else {
			acquire = prepare(insert + absent + " ON CONFLICT (" + c("table_name") + ", " + c("key_hash") +
				") DO UPDATE SET " + c("holder") + " = excluded." + c("holder") + ", " + c("expires_at") +
				" = excluded." + c("expires_at") + " WHERE " + leases + "." + c("expires_at") + " < " + d.Now())
		}
		release = prepare("DELETE FROM " + leases + " WHERE " + c("table_name") + " = ? AND " + c("holder") + " = ?")
	}
	mem, err := lru.New[memoArgs, int](memoLRU)
	if err != nil {
		b.Fatal(err)
	}
	misses := 0
	call := func(ctx context.Context, args memoArgs) (int, error) {
		if v, ok := mem.Get(args); ok {
			return v, nil
		}
		text := "(ID=" + strconv.Itoa(args.ID) + ", Name=" + strconv.Quote(args.Name) + ")"
		hash := sha256.Sum256([]byte(text))
		now := d.TimeArg(time.Now())
		var raw []byte
		switch err := get.QueryRowContext(ctx, hash[:], now).Scan(&raw); {
		case err == nil:
			var v int
			if err := json.Unmarshal(raw, &v); err != nil {
				return 0, err
			}
			mem.Add(args, v)
			return v, nil
		case !errors.Is(err, sql.ErrNoRows):
			return 0, err
		}
		if lease {
			_, err := acquire.ExecContext(ctx, leaseTable, hash[:], holder, ttl, hash[:], now)
			if takeover != nil && dialect.IsUniqueViolation(err) {
				_, err = takeover.ExecContext(ctx, holder, ttl, leaseTable, hash[:])
			}
			if err != nil {
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
		if _, err := put.ExecContext(ctx, hash[:], text, string(argsJSON), string(value), len(value), now, now, nil); err != nil {
			return 0, err
		}
		if misses++; lease && misses%100 == 0 {
			if _, err := release.ExecContext(ctx, leaseTable, holder); err != nil {
				return 0, err
			}
		}
		mem.Add(args, v)
		return v, nil
	}
	return memoCall{call: call, close: func() {}}
}

// BenchmarkMemoize runs the trace through each memoizer of sqlMemoizers on
// each database (sqlite always; postgres and mysql when
// KLEPTO_TEST_POSTGRES_DSN and KLEPTO_TEST_MYSQL_DSN are set), an operation
// a call: "fresh" on an empty database, "cold" on a database that holds
// every result of the calls the run makes, with empty memory (a restart).
// Read calls/s. Names are database/start/memoizer:
//
//	go test -run '^$' -bench 'Memoize$/sqlite/' -benchtime=100000x      # one pass of the trace
//	go test -run '^$' -bench 'Memoize$/postgres/' -benchtime=20000x     # its first 20,000 calls
//	go test -run '^$' -bench 'Memoize$/mysql/cold/(klepto|floor)$' -benchtime=20000x
//
// On the servers a miss takes several round trips and commits, so one pass
// of the trace (7,397 misses fresh) is a long run: the first 20,000 calls
// (3,342 misses fresh) took 3 to 10 s a memoizer on a loaded 2-core
// machine. A count beyond the trace wraps it.
// Figures of a loaded machine are better read from
// BenchmarkMemoizeInterleaved.
func BenchmarkMemoize(b *testing.B) {
	calls := memoCalls()
	eachDB(b, func(b *testing.B, bdb benchDB) {
		for _, start := range []string{"fresh", "cold"} {
			for _, m := range sqlMemoizers {
				b.Run(start+"/"+m.name, func(b *testing.B) {
					db := bdb.fresh(b)
					if start == "cold" {
						warm(b, m.new(b, db, bdb.d), calls)
					}
					memo := m.new(b, db, bdb.d)
					defer memo.close()
					runTrace(b, memo, calls)
				})
			}
		}
	})
}

// runTrace is the timed part of BenchmarkMemoize, a function of its own so
// that a profiler can tell it from the setup (for example
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

// interleaveBlock is the number of calls one memoizer of a pair makes
// before the other makes the same calls.
const interleaveBlock = 1_000

// memoPairs are the pairs BenchmarkMemoizeInterleaved compares: klepto with
// its defaults against the floor with leases, and klepto without its
// sharing features against the floor without leases.
var memoPairs = [][2]string{
	{"klepto", "floor+lease"},
	{"klepto-bare", "floor"},
}

// BenchmarkMemoizeInterleaved runs the trace through the two memoizers of
// each pair of memoPairs, each on a database of its own, in alternating
// blocks of interleaveBlock calls: the first memoizer makes the calls of a
// block, then the second makes the same calls, and the next block starts
// with the second. An operation is a call made by both. Each reports its
// calls/s, timed over its own blocks, and the ratio of the first's calls/s
// to the second's (such as "klepto/floor+lease"), so that a change of load
// during the run weighs on both alike; and the median over the blocks of
// that ratio within a block ("klepto/floor+lease-median"), which a burst of
// load during a few blocks of one memoizer does not move. Names are
// database/start/first-vs-second:
//
//	go test -run '^$' -bench 'MemoizeInterleaved/sqlite/' -benchtime=100000x
//	go test -run '^$' -bench 'MemoizeInterleaved/(postgres|mysql)/' -benchtime=20000x
//
// The memoizers share the process: the background goroutines of one (the
// follower's polls, the releases of leases, the flushes of statistics) and
// the garbage it leaves may run while the other is timed.
func BenchmarkMemoizeInterleaved(b *testing.B) {
	calls := memoCalls()
	eachDB(b, func(b *testing.B, bdb benchDB) {
		for _, start := range []string{"fresh", "cold"} {
			for _, pair := range memoPairs {
				b.Run(start+"/"+pair[0]+"-vs-"+pair[1], func(b *testing.B) {
					var memos [2]memoCall
					for i, name := range pair {
						db, m := bdb.fresh(b), sqlMemoizer(b, name)
						if start == "cold" {
							warm(b, m(b, db, bdb.d), calls)
						}
						memos[i] = m(b, db, bdb.d)
						defer memos[i].close()
					}
					blocks := runInterleaved(b, memos, calls)
					var took [2]time.Duration
					ratios := make([]float64, len(blocks))
					for k, t := range blocks {
						took[0], took[1] = took[0]+t[0], took[1]+t[1]
						ratios[k] = t[1].Seconds() / t[0].Seconds()
					}
					var rate [2]float64
					for i, name := range pair {
						rate[i] = float64(b.N) / took[i].Seconds()
						b.ReportMetric(rate[i], name+"-calls/s")
					}
					b.ReportMetric(rate[0]/rate[1], pair[0]+"/"+pair[1])
					slices.Sort(ratios)
					b.ReportMetric(ratios[len(ratios)/2], pair[0]+"/"+pair[1]+"-median")
				})
			}
		}
	})
}

// runInterleaved is the timed part of BenchmarkMemoizeInterleaved: the
// calls of each block are made by the memoizer that leads the block, one
// per iteration of b.Loop, then by the other at once. It returns the time
// each memoizer took over the calls of each block.
func runInterleaved(b *testing.B, memos [2]memoCall, calls []memoArgs) [][2]time.Duration {
	ctx := context.Background()
	var blocks [][2]time.Duration
	var took [2]time.Duration // in the current block
	follow := func(m, from, to int) {
		start := time.Now()
		for i := from; i < to; i++ {
			if _, err := memos[m].call(ctx, calls[i%len(calls)]); err != nil {
				b.Fatal(err)
			}
		}
		took[m] = time.Since(start)
		blocks = append(blocks, took)
	}
	i, lead := 0, 0
	var start time.Time
	for b.Loop() {
		if i%interleaveBlock == 0 {
			lead, start = i/interleaveBlock%2, time.Now()
		}
		if _, err := memos[lead].call(ctx, calls[i%len(calls)]); err != nil {
			b.Fatal(err)
		}
		if i++; i%interleaveBlock == 0 {
			took[lead] = time.Since(start)
			follow(1-lead, i-interleaveBlock, i)
		}
	}
	if n := i % interleaveBlock; n > 0 {
		took[lead] = time.Since(start)
		follow(1-lead, i-n, i)
	}
	return blocks
}

package integration

import (
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/internal/sqltest"
)

// loadEnv, set to PROCS×CALLS such as 16x5000, sizes TestPgBouncerLoad;
// without it the test runs 4 processes × 500 calls, to stay short in CI.
const loadEnv = "KLEPTO_TEST_PGBOUNCER_LOAD"

// quantile returns the q-quantile of ds, which it sorts; 0 if empty.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}

// loadSize returns the processes and calls per process of the load test.
func loadSize(t *testing.T) (procs, calls int) {
	t.Helper()
	v := os.Getenv(loadEnv)
	if v == "" {
		return 4, 500
	}
	p, c, ok := strings.Cut(v, "x")
	procs, perr := strconv.Atoi(p)
	calls, cerr := strconv.Atoi(c)
	if ok && perr == nil && cerr == nil && procs > 0 && calls > 0 {
		return procs, calls
	}
	t.Fatalf("%s=%q: want PROCSxCALLS, such as 16x5000", loadEnv, v)
	return 0, 0
}

// Processes memoize a function of 1 ms over 10,000 keys drawn from a Zipf
// distribution (s = 1.1), through PgBouncer in transaction mode, each with
// 256 entries of memory, so that most calls that miss memory go to the
// database: no call fails or returns a wrong value, and no key is computed
// twice. The test logs calls/s, the median and 99th percentile latency of
// a call, and the computations. KLEPTO_TEST_PGBOUNCER_LOAD=16x5000 runs 16
// processes × 5,000 calls; the default is 4 × 500.
func TestPgBouncerLoad(t *testing.T) {
	const keys = 10_000
	procs, calls := loadSize(t)
	db := sqltest.PgBouncer(t)
	cfg := pgbouncerServe(db, "load")
	cfg.Work, cfg.MaxSize = time.Millisecond, 256
	cfgs := make([]serveConfig, procs)
	for i := range cfgs {
		cfgs[i] = cfg
	}
	servers := startServers(t, cfgs...)
	walks := make([]*pendingReply, procs)
	start := time.Now()
	for i, s := range servers {
		z := rand.NewZipf(rand.New(rand.NewPCG(uint64(i), 14)), 1.1, 1, keys-1)
		ks := make([]int, calls)
		for c := range ks {
			ks[c] = int(z.Uint64())
		}
		walks[i] = s.send(request{Op: "walk", Keys: ks})
	}
	var p50s, p99s []time.Duration
	var runs int64
	errs, wrong := 0, 0
	computed := make(map[int]int)
	for i, w := range walks {
		r := w.wait()
		runs += r.Runs
		errs += r.Errors
		wrong += r.Wrong
		p50s, p99s = append(p50s, r.P50), append(p99s, r.P99)
		for _, c := range r.Ranges {
			computed[c.N]++
		}
		if r.Errors > 0 {
			t.Errorf("process %d: %d calls failed; the first: %s", i, r.Errors, r.Err)
		}
	}
	elapsed := time.Since(start)
	dups := 0
	for _, n := range computed {
		dups += n - 1
	}
	total := procs * calls
	t.Logf("%d processes × %d Zipf calls through PgBouncer: %.0f calls/s in %v; latency p50 %v (median of the processes'), p99 %v (worst process); %d computations of %d keys, %d duplicate; %d errors, %d wrong values",
		procs, calls, float64(total)/elapsed.Seconds(), elapsed.Round(time.Millisecond),
		quantile(p50s, 0.5).Round(time.Microsecond), slices.Max(p99s).Round(time.Microsecond),
		runs, len(computed), dups, errs, wrong)
	if wrong > 0 {
		t.Errorf("%d calls returned a wrong value", wrong)
	}
	if dups > 0 {
		t.Errorf("%d keys were computed more than once, want none", dups)
	}
}

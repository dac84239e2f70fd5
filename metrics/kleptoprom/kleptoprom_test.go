package kleptoprom_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/metrics/kleptoprom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var _ cache.Observer = (*kleptoprom.Collector)(nil)
var _ prometheus.Collector = (*kleptoprom.Collector)(nil)

func square(_ context.Context, n int) (int, error) { return n * n, nil }

// down is an archive that always fails.
type down struct{}

var errDown = errors.New("database is down")

func (down) Get(context.Context, keymap.Key) (int, bool, error) { return 0, false, errDown }
func (down) Put(context.Context, keymap.Key, int) error         { return errDown }
func (down) Delete(context.Context, keymap.Key) error           { return errDown }

// newCollector returns kleptoprom.New(opts), failing t on an error.
func newCollector(t *testing.T, opts *kleptoprom.Options) *kleptoprom.Collector {
	t.Helper()
	c, err := kleptoprom.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The events of memos reach a registry through the Collector, and read
// back as the counts and durations of what the memos did.
func TestCollector(t *testing.T) {
	c := newCollector(t, nil)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	m, err := cache.Memoize(square, &cache.MemoOptions[int]{MaxSize: 1, Archive: archive.NewDict[int](), Name: "square", Observer: c})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 1, 2, 1} { // miss, hit, miss and evict 1, load 1 and evict 2
		if _, err := m.Call(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	safe, err := cache.Memoize(square, &cache.MemoOptions[int]{Archive: down{}, Safe: true, Name: "safe", Observer: c})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := safe.Call(ctx, 3); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP klepto_errors_total Errors of klepto's memos, tables and archives' background work, by the operation that failed.
# TYPE klepto_errors_total counter
klepto_errors_total{name="safe",op="archive get",source="memo"} 1
klepto_errors_total{name="safe",op="archive put",source="memo"} 1
# HELP klepto_events_total Events of klepto's memos and tables: hits, loads (from the archive), misses (function runs), puts and evictions, in entries.
# TYPE klepto_events_total counter
klepto_events_total{kind="evict",name="square",source="memo"} 2
klepto_events_total{kind="hit",name="square",source="memo"} 1
klepto_events_total{kind="load",name="square",source="memo"} 1
klepto_events_total{kind="miss",name="safe",source="memo"} 1
klepto_events_total{kind="miss",name="square",source="memo"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "klepto_events_total", "klepto_errors_total"); err != nil {
		t.Fatal(err)
	}
	// The histogram holds one observation per load and per run of the
	// function; hits from memory take no time worth measuring.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "klepto_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var name, kind string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "name":
					name = l.GetValue()
				case "kind":
					kind = l.GetValue()
				}
			}
			counts[name+" "+kind] = m.GetHistogram().GetSampleCount()
		}
	}
	if counts["square miss"] != 2 || counts["square load"] != 1 || counts["safe miss"] != 1 {
		t.Fatalf("duration samples %v, want 2 misses and 1 load of square, 1 miss of safe", counts)
	}
}

// Options rename the metrics and label them.
func TestCollectorOptions(t *testing.T) {
	c := newCollector(t, &kleptoprom.Options{Namespace: "app", ConstLabels: prometheus.Labels{"instance": "a"}})
	c.Observe(cache.Event{Kind: cache.EventEvict, Source: cache.SourceTable, Name: "fib", Count: 10})
	c.Observe(cache.Event{Kind: cache.EventError, Source: cache.SourceArchive, Op: "follow", Err: errDown, Hidden: true})
	want := `
# HELP app_errors_total Errors of klepto's memos, tables and archives' background work, by the operation that failed.
# TYPE app_errors_total counter
app_errors_total{instance="a",name="",op="follow",source="archive"} 1
# HELP app_events_total Events of klepto's memos and tables: hits, loads (from the archive), misses (function runs), puts and evictions, in entries.
# TYPE app_events_total counter
app_events_total{instance="a",kind="evict",name="fib",source="table"} 10
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "app_events_total", "app_errors_total"); err != nil {
		t.Fatal(err)
	}

	// Buckets of the durations: the default ones, or those given.
	for _, tc := range []struct {
		buckets []float64
		want    int
	}{{nil, len(kleptoprom.DefaultBuckets())}, {[]float64{0.5, 5}, 2}, {[]float64{0.5, 5, math.Inf(1)}, 2}} {
		c := newCollector(t, &kleptoprom.Options{Buckets: tc.buckets})
		c.Observe(cache.Event{Kind: cache.EventLoad, Source: cache.SourceMemo, Name: "fib", Count: 1, Duration: time.Second})
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "klepto_duration_seconds" {
				h := mf.GetMetric()[0].GetHistogram()
				if len(h.GetBucket()) != tc.want || h.GetSampleSum() != 1 {
					t.Fatalf("Buckets %v: %d buckets, sum %v; want %d buckets, sum 1", tc.buckets, len(h.GetBucket()), h.GetSampleSum(), tc.want)
				}
			}
		}
	}
}

// New refuses the options that would make Prometheus panic in Observe, on
// the goroutine of a memo's caller, or refuse the Collector when it is
// registered.
func TestNewBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts kleptoprom.Options
		want string
	}{
		{"decreasing buckets", kleptoprom.Options{Buckets: []float64{1, 0.5}}, "Buckets[1] = 0.5 follows 1"},
		{"equal buckets", kleptoprom.Options{Buckets: []float64{1, 2, 2}}, "strictly increasing"},
		{"NaN bucket", kleptoprom.Options{Buckets: []float64{math.NaN(), 1}}, "Buckets[0] is NaN"},
		{"namespace", kleptoprom.Options{Namespace: "app\xff"}, "not a valid metric name"},
		{"label name", kleptoprom.Options{ConstLabels: prometheus.Labels{"\xff": "x"}}, "not a valid label name"},
		{"label value", kleptoprom.Options{ConstLabels: prometheus.Labels{"instance": "\xff"}}, "not valid UTF-8"},
		{"klepto's label", kleptoprom.Options{ConstLabels: prometheus.Labels{"name": "x"}}, `label "name"`},
		{"bucket label", kleptoprom.Options{ConstLabels: prometheus.Labels{"le": "1"}}, `label "le"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := kleptoprom.New(&tc.opts)
			if err == nil || !strings.HasPrefix(err.Error(), "kleptoprom: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error containing %q", c, err, tc.want)
			}
		})
	}
}

// New copies Buckets: changing the slice afterwards changes nothing.
func TestNewCopiesBuckets(t *testing.T) {
	buckets := []float64{0.5, 5}
	c := newCollector(t, &kleptoprom.Options{Buckets: buckets})
	buckets[0] = 10
	c.Observe(cache.Event{Kind: cache.EventLoad, Source: cache.SourceMemo, Name: "fib", Count: 1, Duration: time.Second})
	want := `
# HELP klepto_duration_seconds Time taken by klepto's loads from the archive, function runs (misses), and table reads and writes.
# TYPE klepto_duration_seconds histogram
klepto_duration_seconds_bucket{kind="load",name="fib",source="memo",le="0.5"} 0
klepto_duration_seconds_bucket{kind="load",name="fib",source="memo",le="5"} 1
klepto_duration_seconds_bucket{kind="load",name="fib",source="memo",le="+Inf"} 1
klepto_duration_seconds_sum{kind="load",name="fib",source="memo"} 1
klepto_duration_seconds_count{kind="load",name="fib",source="memo"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "klepto_duration_seconds"); err != nil {
		t.Fatal(err)
	}
}

// DefaultBuckets returns ten bounds from 100 µs, each four times the last,
// in a new slice each time: the same bounds as kleptootel.DefaultBuckets.
func TestDefaultBuckets(t *testing.T) {
	b := kleptoprom.DefaultBuckets()
	if len(b) != 10 || b[0] != 0.0001 {
		t.Fatalf("DefaultBuckets() = %v, want 10 bounds from 0.0001", b)
	}
	for i := 1; i < len(b); i++ {
		if math.Abs(b[i]/b[i-1]-4) > 1e-9 {
			t.Fatalf("DefaultBuckets() = %v: bound %d is not four times the last", b, i)
		}
	}
	b[0] = 1
	if kleptoprom.DefaultBuckets()[0] != 0.0001 {
		t.Fatal("DefaultBuckets returns a slice its callers share")
	}
}

// A name that is not UTF-8 does not make Observe panic: its invalid bytes
// read as U+FFFD in the label.
func TestObserveInvalidUTF8(t *testing.T) {
	c := newCollector(t, nil)
	c.Observe(cache.Event{Kind: cache.EventHit, Source: cache.SourceMemo, Name: "fib\xff", Count: 1})
	c.Observe(cache.Event{Kind: cache.EventError, Source: cache.SourceMemo, Name: "fib\xff", Op: "key", Count: 1, Err: errDown})
	want := `
# HELP klepto_events_total Events of klepto's memos and tables: hits, loads (from the archive), misses (function runs), puts and evictions, in entries.
# TYPE klepto_events_total counter
klepto_events_total{kind="hit",name="fib�",source="memo"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "klepto_events_total"); err != nil {
		t.Fatal(err)
	}
}

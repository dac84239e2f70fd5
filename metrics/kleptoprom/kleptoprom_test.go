package kleptoprom_test

import (
	"context"
	"errors"
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

// The events of memos reach a registry through the Collector, and read
// back as the counts and durations of what the memos did.
func TestCollector(t *testing.T) {
	c := kleptoprom.New(nil)
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
	c := kleptoprom.New(&kleptoprom.Options{Namespace: "app", ConstLabels: prometheus.Labels{"instance": "a"}})
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
	}{{nil, len(kleptoprom.DefaultBuckets)}, {[]float64{0.5, 5}, 2}} {
		c := kleptoprom.New(&kleptoprom.Options{Buckets: tc.buckets})
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

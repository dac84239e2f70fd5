package kleptootel_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/metrics/kleptootel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

var _ cache.Observer = (*kleptootel.Observer)(nil)

func square(_ context.Context, n int) (int, error) { return n * n, nil }

// down is an archive that always fails.
type down struct{}

var errDown = errors.New("database is down")

func (down) Get(context.Context, keymap.Key) (int, bool, error) { return 0, false, errDown }
func (down) Put(context.Context, keymap.Key, int) error         { return errDown }
func (down) Delete(context.Context, keymap.Key) error           { return errDown }

// series returns "name kind-or-op" of the attributes of a data point.
func series(set attribute.Set) string {
	name, _ := set.Value("klepto.name")
	source, _ := set.Value("klepto.source")
	what, ok := set.Value("klepto.kind")
	if !ok {
		what, _ = set.Value("klepto.op")
	}
	return source.AsString() + " " + name.AsString() + " " + what.AsString()
}

// The events of memos reach a MeterProvider through the Observer, and read
// back from a ManualReader as the counts and durations of what the memos
// did.
func TestObserver(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	obs, err := kleptootel.New(mp, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	m, err := cache.Memoize(square, &cache.MemoOptions[int]{MaxSize: 1, Archive: archive.NewDict[int](), Name: "square", Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 1, 2, 1} { // miss, hit, miss and evict 1, load 1 and evict 2
		if _, err := m.Call(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	safe, err := cache.Memoize(square, &cache.MemoOptions[int]{Archive: down{}, Safe: true, Name: "safe", Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := safe.Call(ctx, 3); err != nil {
		t.Fatal(err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	samples := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != kleptootel.ScopeName {
			t.Fatalf("scope %q, want %q", sm.Scope.Name, kleptootel.ScopeName)
		}
		for _, mt := range sm.Metrics {
			switch data := mt.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					sums[mt.Name+" "+series(dp.Attributes)] = dp.Value
				}
			case metricdata.Histogram[float64]:
				if mt.Unit != "s" {
					t.Fatalf("%s in %q, want s", mt.Name, mt.Unit)
				}
				for _, dp := range data.DataPoints {
					samples[series(dp.Attributes)] = dp.Count
				}
			}
		}
	}
	want := map[string]int64{
		"klepto.events memo square miss":      2,
		"klepto.events memo square hit":       1,
		"klepto.events memo square load":      1,
		"klepto.events memo square evict":     2,
		"klepto.events memo safe miss":        1,
		"klepto.errors memo safe archive get": 1,
		"klepto.errors memo safe archive put": 1,
	}
	if len(sums) != len(want) {
		t.Fatalf("counters %v, want %v", sums, want)
	}
	for k, v := range want {
		if sums[k] != v {
			t.Fatalf("counters %v, want %v", sums, want)
		}
	}
	if samples["memo square miss"] != 2 || samples["memo square load"] != 1 || samples["memo safe miss"] != 1 {
		t.Fatalf("duration samples %v, want 2 misses and 1 load of square, 1 miss of safe", samples)
	}
}

// New refuses a nil MeterProvider, and buckets out of order.
func TestNewBadOptions(t *testing.T) {
	mp := sdkmetric.NewMeterProvider()
	defer mp.Shutdown(context.Background())
	for _, tc := range []struct {
		name string
		mp   metric.MeterProvider
		opts *kleptootel.Options
		want string
	}{
		{"nil MeterProvider", nil, nil, "nil MeterProvider"},
		{"decreasing buckets", mp, &kleptootel.Options{Buckets: []float64{1, 0.5}}, "Buckets[1] = 0.5 follows 1"},
		{"equal buckets", mp, &kleptootel.Options{Buckets: []float64{1, 2, 2}}, "strictly increasing"},
		{"NaN bucket", mp, &kleptootel.Options{Buckets: []float64{math.NaN(), 1}}, "Buckets[0] is NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs, err := kleptootel.New(tc.mp, tc.opts)
			if err == nil || !strings.HasPrefix(err.Error(), "kleptootel: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error containing %q", obs, err, tc.want)
			}
		})
	}
}

// The histogram has DefaultBuckets, or the Buckets given, copied.
func TestBuckets(t *testing.T) {
	for _, tc := range []struct {
		opts *kleptootel.Options
		want []float64
	}{
		{nil, kleptootel.DefaultBuckets()},
		{&kleptootel.Options{}, kleptootel.DefaultBuckets()},
		{&kleptootel.Options{Buckets: []float64{0.5, 5}}, []float64{0.5, 5}},
	} {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		obs, err := kleptootel.New(mp, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if tc.opts != nil && len(tc.opts.Buckets) > 0 {
			tc.opts.Buckets[0] = 10 // New copied them
		}
		obs.Observe(cache.Event{Kind: cache.EventLoad, Source: cache.SourceMemo, Name: "fib", Count: 1, Duration: time.Second})
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(t.Context(), &rm); err != nil {
			t.Fatal(err)
		}
		var bounds []float64
		for _, sm := range rm.ScopeMetrics {
			for _, mt := range sm.Metrics {
				if h, ok := mt.Data.(metricdata.Histogram[float64]); ok && mt.Name == "klepto.duration" {
					bounds = h.DataPoints[0].Bounds
				}
			}
		}
		if !slices.Equal(bounds, tc.want) {
			t.Fatalf("Options %+v: bounds %v, want %v", tc.opts, bounds, tc.want)
		}
		if err := mp.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// DefaultBuckets returns ten bounds from 100 µs, each four times the last,
// in a new slice each time: the same bounds as kleptoprom.DefaultBuckets.
func TestDefaultBuckets(t *testing.T) {
	b := kleptootel.DefaultBuckets()
	if len(b) != 10 || b[0] != 0.0001 {
		t.Fatalf("DefaultBuckets() = %v, want 10 bounds from 0.0001", b)
	}
	for i := 1; i < len(b); i++ {
		if math.Abs(b[i]/b[i-1]-4) > 1e-9 {
			t.Fatalf("DefaultBuckets() = %v: bound %d is not four times the last", b, i)
		}
	}
	b[0] = 1
	if kleptootel.DefaultBuckets()[0] != 0.0001 {
		t.Fatal("DefaultBuckets returns a slice its callers share")
	}
}

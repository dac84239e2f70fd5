package kleptootel

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/klepto-sql/klepto/cache"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the name of the meter the instruments belong to.
const ScopeName = "github.com/klepto-sql/klepto"

// DefaultBuckets returns the bucket boundaries of klepto.duration unless
// Options.Buckets names others, in a new slice: ten bounds from 100 µs to
// about 26 s, each four times the last. The module
// github.com/klepto-sql/klepto/metrics/kleptoprom has the same bounds in a
// copy of its own, so that neither module requires the other.
func DefaultBuckets() []float64 {
	return []float64{0.0001, 0.0004, 0.0016, 0.0064, 0.0256, 0.1024, 0.4096, 1.6384, 6.5536, 26.2144}
}

// Options configure [New]. A nil *Options and the zero value both mean
// DefaultBuckets.
type Options struct {
	// Buckets are the explicit bucket boundaries, in seconds, of the
	// klepto.duration histogram, in strictly increasing order. New copies
	// them. Nil or empty means DefaultBuckets(). A view of the
	// MeterProvider may still replace them.
	Buckets []float64
}

// Observer records the events it observes with OpenTelemetry instruments.
type Observer struct {
	events    metric.Int64Counter
	errors    metric.Int64Counter
	durations metric.Float64Histogram

	mu    sync.RWMutex // guards attrs
	attrs map[attrKey]metric.MeasurementOption
}

// attrKey identifies the attribute set of an event.
type attrKey struct {
	source cache.EventSource
	kind   cache.EventKind
	name   string
	op     string // of errors
}

// New returns an Observer recording with a meter of mp, or an error: mp
// is nil, opts.Buckets are not in strictly increasing order, or mp fails
// to make an instrument. opts may be nil. The Observer holds no resources:
// there is nothing to close, and shutting mp down is the caller's.
func New(mp metric.MeterProvider, opts *Options) (*Observer, error) {
	if mp == nil {
		return nil, errors.New("kleptootel: nil MeterProvider")
	}
	var buckets []float64
	if opts != nil && len(opts.Buckets) > 0 {
		buckets = slices.Clone(opts.Buckets)
	} else {
		buckets = DefaultBuckets()
	}
	if err := checkBuckets(buckets); err != nil {
		return nil, err
	}
	meter := mp.Meter(ScopeName)
	o := &Observer{attrs: make(map[attrKey]metric.MeasurementOption)}
	var err error
	if o.events, err = meter.Int64Counter("klepto.events", metric.WithUnit("{event}"),
		metric.WithDescription("Events of klepto's memos and tables: hits, loads (from the archive), misses (function runs), puts and evictions, in entries.")); err != nil {
		return nil, fmt.Errorf("kleptootel: %w", err)
	}
	if o.errors, err = meter.Int64Counter("klepto.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Errors of klepto's memos, tables and archives' background work, by the operation that failed.")); err != nil {
		return nil, fmt.Errorf("kleptootel: %w", err)
	}
	if o.durations, err = meter.Float64Histogram("klepto.duration", metric.WithUnit("s"),
		metric.WithDescription("Time taken by klepto's loads from the archive, function runs (misses), and table reads and writes."),
		metric.WithExplicitBucketBoundaries(buckets...)); err != nil {
		return nil, fmt.Errorf("kleptootel: %w", err)
	}
	return o, nil
}

// checkBuckets returns an error unless b is in strictly increasing order.
func checkBuckets(b []float64) error {
	for i, v := range b {
		switch {
		case math.IsNaN(v):
			return fmt.Errorf("kleptootel: Buckets[%d] is NaN", i)
		case i > 0 && v <= b[i-1]:
			return fmt.Errorf("kleptootel: Buckets must be in strictly increasing order: Buckets[%d] = %v follows %v", i, v, b[i-1])
		}
	}
	return nil
}

// Observe records e, and its duration if it has one. It implements
// cache.Observer.
func (o *Observer) Observe(e cache.Event) {
	k := attrKey{source: e.Source, kind: e.Kind, name: e.Name}
	if e.Kind == cache.EventError {
		k.op = e.Op
	}
	o.mu.RLock()
	attrs := o.attrs[k]
	o.mu.RUnlock()
	if attrs == nil {
		attrs = o.newAttrs(k)
	}
	n := int64(e.Count)
	if n <= 0 {
		n = 1
	}
	ctx := context.Background()
	if e.Kind == cache.EventError {
		o.errors.Add(ctx, n, attrs)
		return
	}
	o.events.Add(ctx, n, attrs)
	if e.Duration > 0 {
		o.durations.Record(ctx, e.Duration.Seconds(), attrs)
	}
}

// newAttrs returns the attributes of k, made on its first event.
func (o *Observer) newAttrs(k attrKey) metric.MeasurementOption {
	o.mu.Lock()
	defer o.mu.Unlock()
	if a := o.attrs[k]; a != nil {
		return a
	}
	kv := []attribute.KeyValue{attribute.String("klepto.source", k.source.String()), attribute.String("klepto.name", k.name)}
	if k.kind == cache.EventError {
		kv = append(kv, attribute.String("klepto.op", k.op))
	} else {
		kv = append(kv, attribute.String("klepto.kind", k.kind.String()))
	}
	a := metric.WithAttributeSet(attribute.NewSet(kv...))
	o.attrs[k] = a
	return a
}

package kleptoprom

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/klepto-sql/klepto/cache"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultBuckets returns the buckets of klepto_duration_seconds unless
// Options.Buckets names others, in a new slice: ten upper bounds from
// 100 µs to about 26 s, each four times the last. The module
// github.com/klepto-sql/klepto/metrics/kleptootel has the same bounds in
// a copy of its own, so that neither module requires the other.
func DefaultBuckets() []float64 {
	return []float64{0.0001, 0.0004, 0.0016, 0.0064, 0.0256, 0.1024, 0.4096, 1.6384, 6.5536, 26.2144}
}

// Options configure [New]. A nil *Options and the zero value both mean the
// namespace "klepto" and DefaultBuckets.
type Options struct {
	// Namespace prefixes the metric names; it must be a valid Prometheus
	// metric name. Default "klepto".
	Namespace string

	// ConstLabels are labels with fixed values added to every metric, such
	// as the instance of a service. Their names must be valid and must not
	// be source, name, kind, op or le. Default none.
	ConstLabels prometheus.Labels

	// Buckets are the upper bounds, in seconds, of the buckets of the
	// duration histogram, in strictly increasing order (a last bound of
	// +Inf is implicit). New copies them. Nil or empty means
	// DefaultBuckets().
	Buckets []float64
}

// Collector counts the events it observes, and exports them to Prometheus.
type Collector struct {
	events    *prometheus.CounterVec
	errors    *prometheus.CounterVec
	durations *prometheus.HistogramVec

	mu     sync.RWMutex // guards series
	series map[seriesKey]*series
}

// seriesKey identifies the series an event updates.
type seriesKey struct {
	source cache.EventSource
	kind   cache.EventKind
	name   string
	op     string // of errors
}

// series are the metrics of one seriesKey, looked up once.
type series struct {
	count    prometheus.Counter
	duration prometheus.Observer // nil for errors
}

// New returns a Collector, or an error naming what is wrong with opts: a
// Namespace or ConstLabels that Prometheus would refuse, or Buckets not in
// strictly increasing order. opts may be nil. The Collector holds no
// resources: there is nothing to close.
func New(opts *Options) (*Collector, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Namespace == "" {
		o.Namespace = "klepto"
	}
	if len(o.Buckets) == 0 {
		o.Buckets = DefaultBuckets()
	} else {
		o.Buckets = slices.Clone(o.Buckets)
	}
	if err := checkBuckets(o.Buckets); err != nil {
		return nil, err
	}
	for l := range o.ConstLabels {
		switch l {
		case "source", "name", "kind", "op", "le":
			return nil, fmt.Errorf("kleptoprom: ConstLabels: label %q is klepto's or Prometheus's own", l)
		}
	}
	c := &Collector{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: o.Namespace, Name: "events_total", ConstLabels: o.ConstLabels,
			Help: "Events of klepto's memos and tables: hits, loads (from the archive), misses (function runs), puts and evictions, in entries.",
		}, []string{"source", "name", "kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: o.Namespace, Name: "errors_total", ConstLabels: o.ConstLabels,
			Help: "Errors of klepto's memos, tables and archives' background work, by the operation that failed.",
		}, []string{"source", "name", "op"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: o.Namespace, Name: "duration_seconds", ConstLabels: o.ConstLabels, Buckets: o.Buckets,
			Help: "Time taken by klepto's loads from the archive, function runs (misses), and table reads and writes.",
		}, []string{"source", "name", "kind"}),
		series: make(map[seriesKey]*series),
	}
	// A registry checks the metrics' names and labels: registering the
	// Collector in one of its own reports what a caller's registry would.
	if err := prometheus.NewPedanticRegistry().Register(c); err != nil {
		return nil, fmt.Errorf("kleptoprom: %w", err)
	}
	return c, nil
}

// checkBuckets returns an error unless b is in strictly increasing order.
func checkBuckets(b []float64) error {
	for i, v := range b {
		switch {
		case math.IsNaN(v):
			return fmt.Errorf("kleptoprom: Buckets[%d] is NaN", i)
		case i > 0 && v <= b[i-1]:
			return fmt.Errorf("kleptoprom: Buckets must be in strictly increasing order: Buckets[%d] = %v follows %v", i, v, b[i-1])
		}
	}
	return nil
}

// Observe counts e, and its duration if it has one. It implements
// cache.Observer.
func (c *Collector) Observe(e cache.Event) {
	k := seriesKey{source: e.Source, kind: e.Kind, name: e.Name}
	if e.Kind == cache.EventError {
		k.op = e.Op
	}
	c.mu.RLock()
	s := c.series[k]
	c.mu.RUnlock()
	if s == nil {
		s = c.newSeries(k)
	}
	n := e.Count
	if n <= 0 {
		n = 1
	}
	s.count.Add(float64(n))
	if s.duration != nil && e.Duration > 0 {
		s.duration.Observe(e.Duration.Seconds())
	}
}

// newSeries returns the series of k, made on its first event.
func (c *Collector) newSeries(k seriesKey) *series {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.series[k]; s != nil {
		return s
	}
	// Prometheus refuses label values that are not UTF-8.
	name, op := strings.ToValidUTF8(k.name, "\uFFFD"), strings.ToValidUTF8(k.op, "\uFFFD")
	s := new(series)
	if k.kind == cache.EventError {
		s.count = c.errors.WithLabelValues(k.source.String(), name, op)
	} else {
		s.count = c.events.WithLabelValues(k.source.String(), name, k.kind.String())
		s.duration = c.durations.WithLabelValues(k.source.String(), name, k.kind.String())
	}
	c.series[k] = s
	return s
}

// Describe sends the descriptions of the three metric families. It
// implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	c.events.Describe(ch)
	c.errors.Describe(ch)
	c.durations.Describe(ch)
}

// Collect sends the current values of the metrics. It implements
// prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.events.Collect(ch)
	c.errors.Collect(ch)
	c.durations.Collect(ch)
}

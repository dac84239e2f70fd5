// Package kleptoprom exports the events of klepto's memos, SQL tables and
// archives as Prometheus metrics. A [Collector] is both a cache.Observer,
// to set as the Observer of cache.MemoOptions, sqltable.Options or
// sqlarchive.Options, and a prometheus.Collector, to register:
//
//	c := kleptoprom.New(nil)
//	prometheus.MustRegister(c)
//	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Observer: c})
//
// It exports three metric families, labelled by source (memo, table or
// archive) and name (the memo's or the table's):
//
//	klepto_events_total{source, name, kind}          counter: hits, loads, misses, puts, evictions (entries)
//	klepto_errors_total{source, name, op}            counter: errors, by the operation that failed
//	klepto_duration_seconds{source, name, kind}      histogram: the time of loads, function runs (misses), table reads and writes
//
// This package is a module of its own, github.com/klepto-sql/klepto/metrics/kleptoprom,
// rather than a package of the klepto module, so that the Prometheus client
// library and its dependencies reach only the programs that import it: the
// klepto module requires none of them, and its hook, cache.Observer, costs
// nothing when unset.
//
// A Collector is safe for concurrent use.
package kleptoprom

// Package kleptoprom exports the events of klepto's memos, SQL tables and
// archives as Prometheus metrics. A [Collector] is both a cache.Observer,
// to set as the Observer of cache.MemoOptions, sqltable.Options or
// sqlarchive.Options, and a prometheus.Collector, to register:
//
//	c, err := kleptoprom.New(nil)
//	if err != nil { … }
//	prometheus.MustRegister(c)
//	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Observer: c})
//
// It exports three metric families, labelled by source (memo, table or
// archive) and name (the memo's or the table's, see cache.Event.Name: an
// archive's memos and tables both carry the archive's name):
//
//	klepto_events_total{source, name, kind}          counter: hits, loads, misses, puts, evictions (entries)
//	klepto_errors_total{source, name, op}            counter: errors, by the operation that failed
//	klepto_duration_seconds{source, name, kind}      histogram: the time of loads, function runs (misses), table reads and writes
//
// [New] checks its [Options] (the buckets of the histogram, the namespace
// and constant labels) and returns an error rather than let Prometheus
// panic later, in Observe, on a memo caller's goroutine.
//
// This package is a module of its own, github.com/klepto-sql/klepto/metrics/kleptoprom,
// rather than a package of the klepto module, so that the Prometheus client
// library and its dependencies reach only the programs that import it: the
// klepto module requires none of them, and its hook, cache.Observer, costs
// nothing when unset.
//
// Until the klepto modules are published, use this one from a clone of the
// repository, as klepto's README says, with a replace directive for it and
// for the klepto module it requires, say in ../klepto:
//
//	go mod edit -replace=github.com/klepto-sql/klepto=../klepto \
//		-replace=github.com/klepto-sql/klepto/metrics/kleptoprom=../klepto/metrics/kleptoprom
//
// A Collector is safe for concurrent use.
package kleptoprom

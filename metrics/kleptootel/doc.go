// Package kleptootel records the events of klepto's memos, SQL tables and
// archives as OpenTelemetry metrics. An [Observer] is a cache.Observer, to
// set as the Observer of cache.MemoOptions, sqltable.Options or
// sqlarchive.Options:
//
//	obs, err := kleptootel.New(otel.GetMeterProvider(), nil)
//	if err != nil { … }
//	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Observer: obs})
//
// It records three instruments of the meter
// "github.com/klepto-sql/klepto", with the attributes klepto.source (memo,
// table or archive) and klepto.name (the memo's or the table's name, see
// cache.Event.Name: an archive's memos and tables both carry the
// archive's name):
//
//	klepto.events    counter {event}: hits, loads, misses, puts, evictions (entries), by klepto.kind
//	klepto.errors    counter {error}: errors, by klepto.op, the operation that failed
//	klepto.duration  histogram, s: the time of loads, function runs (misses), table reads and writes, by klepto.kind
//
// This package is a module of its own, github.com/klepto-sql/klepto/metrics/kleptootel,
// rather than a package of the klepto module, so that the OpenTelemetry API
// reaches only the programs that import it: the klepto module requires
// none of it, and its hook, cache.Observer, costs nothing when unset.
//
// Until the klepto modules are published, use this one from a clone of the
// repository, as klepto's README says, with a replace directive for it and
// for the klepto module it requires, say in ../klepto:
//
//	go mod edit -replace=github.com/klepto-sql/klepto=../klepto \
//		-replace=github.com/klepto-sql/klepto/metrics/kleptootel=../klepto/metrics/kleptootel
//
// An Observer is safe for concurrent use.
package kleptootel

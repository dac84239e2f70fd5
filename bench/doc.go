// Package bench compares the LRU of package cache with other Go caches,
// side by side in one run: github.com/hashicorp/golang-lru/v2 and
// github.com/maypok86/otter/v2. It is a module of its own, so the library's
// go.mod never requires them, and it holds only benchmarks. Run them from
// this directory:
//
//	go test -run XXX -bench .
//	go test -run XXX -bench . -count 5 -benchtime 1s   # the recorded run
//
// Every library gets the same keys (text like a memoizer's), values and
// cache size. The Get benchmarks read 1,000 keys in turn from a cache of
// 1,000, so every Get hits; the Put benchmarks write a Zipf(1.1) stream over
// 10,000 keys into a cache of 1,000, so each Put replaces a value or evicts.
// The Parallel variants run the same loop on GOMAXPROCS goroutines. Each
// library is called through a method value, so all pay the same call cost.
//
// The Memo benchmarks compare a memoized call served from memory: cache.Memo
// with its defaults against the same memo written by hand around
// golang-lru, and around a map under a mutex, each keyed by the argument
// struct itself.
//
// The Memoize benchmarks run a memoizer over a database end to end, on a
// Zipf(1.1) trace from a fixed seed: sqlarchive.Memoize against the same
// memo written by hand (golang-lru in front of prepared statements),
// fresh and cold, on SQLite always, and on PostgreSQL and MySQL (MariaDB)
// when KLEPTO_TEST_POSTGRES_DSN and KLEPTO_TEST_MYSQL_DSN are set, the
// variables of the main module's tests. Each server benchmark runs in a
// schema or database of its own, dropped when it ends.
// BenchmarkMemoizeInterleaved runs klepto and the hand-written memo in
// alternating blocks of one run and reports the ratio of their calls/s:
//
//	go test -run '^$' -bench 'Memoize$/sqlite/' -benchtime=100000x
//	go test -run '^$' -bench 'MemoizeInterleaved/' -benchtime=20000x
package bench

package sqltable

import (
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// A Table with Options.Observer reports: a Get or GetExpiry that finds its
// entry (cache.EventHit) or not (EventMiss), the keys a GetMany finds and
// those it does not (one EventHit and one EventMiss, with their counts, a
// key given twice counted twice), a Put, PutArgs or PutMany that
// stores entries (EventPut), each with the time it took; the entries that
// its bounds evict (EventEvict); and the errors of those methods and of
// Delete (EventError, with Op get, put or delete). Their Name is
// Options.EventName, by default the table's name.

// observeGet reports a Get that began at start and found found, or failed
// with err. It is deferred, so it reads the results through pointers.
func (t *Table[V]) observeGet(start time.Time, found *bool, err *error) {
	switch {
	case *err != nil:
		t.observeErr("get", *err)
	case *found:
		t.obs.Observe(cache.Event{Kind: cache.EventHit, Source: cache.SourceTable, Name: t.eventName, Count: 1, Duration: time.Since(start)})
	default:
		t.obs.Observe(cache.Event{Kind: cache.EventMiss, Source: cache.SourceTable, Name: t.eventName, Count: 1, Duration: time.Since(start)})
	}
}

// observeGetMany reports a GetMany of keys that began at start and found
// out, or failed with err.
func (t *Table[V]) observeGetMany(start time.Time, keys []keymap.Key, out map[[32]byte]V, err error) {
	if err != nil {
		t.observeErr("get", err)
		return
	}
	hits := 0
	for _, k := range keys {
		if _, ok := out[k.Hash]; ok {
			hits++
		}
	}
	d := time.Since(start)
	if hits > 0 {
		t.obs.Observe(cache.Event{Kind: cache.EventHit, Source: cache.SourceTable, Name: t.eventName, Count: hits, Duration: d})
	}
	if misses := len(keys) - hits; misses > 0 {
		t.obs.Observe(cache.Event{Kind: cache.EventMiss, Source: cache.SourceTable, Name: t.eventName, Count: misses, Duration: d})
	}
}

// observePut reports a write of n entries that began at start, or its
// error.
func (t *Table[V]) observePut(start time.Time, n int, err *error) {
	if *err != nil {
		t.observeErr("put", *err)
		return
	}
	t.obs.Observe(cache.Event{Kind: cache.EventPut, Source: cache.SourceTable, Name: t.eventName, Count: n, Duration: time.Since(start)})
}

// observeErr reports err, met by op.
func (t *Table[V]) observeErr(op string, err error) {
	t.obs.Observe(cache.Event{Kind: cache.EventError, Source: cache.SourceTable, Name: t.eventName, Op: op, Count: 1, Err: err})
}

// observeEvict reports n entries evicted past the bounds.
func (t *Table[V]) observeEvict(n int) {
	if t.obs != nil && n > 0 {
		t.obs.Observe(cache.Event{Kind: cache.EventEvict, Source: cache.SourceTable, Name: t.eventName, Count: n})
	}
}

package cache

import (
	"hash/maphash"
	"iter"
)

// listNode is one entry of a [recencyList], linked to its neighbours by slot.
type listNode[K comparable, V any] struct {
	key        K
	value      V
	hash       uint64 // of key, so the table never hashes a key twice
	prev, next int32
}

// recencyList is an ordered set of entries: a circular doubly linked list
// whose nodes live in one slice and point to each other by int32 slot instead
// of by pointer, and a hash table from key to slot. That keeps the entries
// dense (good locality, few pointers for the garbage collector to trace) and
// lets a slot be reused in place, so neither a hit nor an eviction allocates.
//
// nodes[0] is the sentinel: nodes[0].next is the front (most recent) and
// nodes[0].prev the back (least recent); slots 1..len hold the entries.
// Removing an entry moves the last slot into the hole, so the slice has no
// gaps.
//
// The table is open addressing with linear probing over slots (0 marks an
// empty cell), at most half full. Unlike a Go map it lets the caller hash the
// key before taking the lock ([recencyList.hash] needs no lock), which
// shortens the critical section of every operation, and a lookup reads a
// 4-byte cell and then the node it names, whose stored hash rejects most
// non-matches without comparing keys.
//
// A recencyList is not safe for concurrent use: its owner locks.
type recencyList[K comparable, V any] struct {
	seed  maphash.Seed // immutable
	table []int32      // len is a power of two
	nodes []listNode[K, V]
}

func newRecencyList[K comparable, V any]() recencyList[K, V] {
	return recencyList[K, V]{
		seed:  maphash.MakeSeed(),
		table: make([]int32, 8),
		nodes: make([]listNode[K, V], 1),
	}
}

// hash returns the hash of key. It reads only the immutable seed, so it may
// be called without the owner's lock.
func (l *recencyList[K, V]) hash(key K) uint64 { return maphash.Comparable(l.seed, key) }

// len returns the number of entries.
func (l *recencyList[K, V]) len() int { return len(l.nodes) - 1 }

// find returns the slot of key, whose hash is h, or 0 if key is absent.
func (l *recencyList[K, V]) find(key K, h uint64) int32 {
	table, nodes := l.table, l.nodes
	mask := uint64(len(table) - 1)
	for p := h & mask; ; p = (p + 1) & mask {
		s := table[p]
		if s == 0 {
			return 0
		}
		if n := &nodes[s]; n.hash == h && n.key == key {
			return s
		}
	}
}

// cell returns the position in the table of slot s.
func (l *recencyList[K, V]) cell(s int32) uint64 {
	mask := uint64(len(l.table) - 1)
	p := l.nodes[s].hash & mask
	for l.table[p] != s {
		p = (p + 1) & mask
	}
	return p
}

// index adds slot s, whose node holds its key and hash, to the table.
func (l *recencyList[K, V]) index(s int32) {
	mask := uint64(len(l.table) - 1)
	p := l.nodes[s].hash & mask
	for l.table[p] != 0 {
		p = (p + 1) & mask
	}
	l.table[p] = s
}

// unindex removes slot s from the table. Each later cell of the probe run
// moves back into the gap unless that would put it before its home cell
// (Knuth's Algorithm R), so lookups need no tombstones.
func (l *recencyList[K, V]) unindex(s int32) {
	table := l.table
	mask := uint64(len(table) - 1)
	gap := l.cell(s)
	for q := gap; ; {
		table[gap] = 0
		for {
			q = (q + 1) & mask
			t := table[q]
			if t == 0 {
				return
			}
			// t may fill the gap unless its home lies cyclically in (gap, q].
			home := l.nodes[t].hash & mask
			if (gap < q && (home <= gap || home > q)) || (gap > q && home <= gap && home > q) {
				break
			}
		}
		table[gap] = table[q]
		gap = q
	}
}

// grow doubles the table.
func (l *recencyList[K, V]) grow() {
	l.table = make([]int32, 2*len(l.table))
	for s := range int32(len(l.nodes)) {
		if s != 0 {
			l.index(s)
		}
	}
}

func (l *recencyList[K, V]) unlink(i int32) {
	n := &l.nodes[i]
	l.nodes[n.prev].next = n.next
	l.nodes[n.next].prev = n.prev
}

func (l *recencyList[K, V]) linkFront(i int32) {
	first := l.nodes[0].next
	n := &l.nodes[i]
	n.prev = 0
	n.next = first
	l.nodes[first].prev = i
	l.nodes[0].next = i
}

// moveToFront makes slot i the most recent entry. It is the hot path of
// every hit, hence written out in full on a local copy of the slice header.
func (l *recencyList[K, V]) moveToFront(i int32) {
	nodes := l.nodes
	first := nodes[0].next
	if first == i {
		return
	}
	n := &nodes[i]
	nodes[n.prev].next = n.next
	nodes[n.next].prev = n.prev
	n.prev, n.next = 0, first
	nodes[first].prev = i
	nodes[0].next = i
}

// pushFront adds an entry for key, which must be absent and hash to h, at
// the front.
func (l *recencyList[K, V]) pushFront(key K, h uint64, value V) {
	i := int32(len(l.nodes))
	l.nodes = append(l.nodes, listNode[K, V]{key: key, value: value, hash: h})
	if 2*len(l.nodes) > len(l.table) {
		l.grow()
	} else {
		l.index(i)
	}
	l.linkFront(i)
}

// replace puts key, which must be absent and hash to h, and value in slot i
// in place of the entry there, moves the slot to the front and returns the
// old entry.
func (l *recencyList[K, V]) replace(i int32, key K, h uint64, value V) (K, V) {
	l.unindex(i)
	n := &l.nodes[i]
	oldKey, oldValue := n.key, n.value
	n.key, n.value, n.hash = key, value, h
	l.index(i)
	l.moveToFront(i)
	return oldKey, oldValue
}

// remove deletes the entry in slot i and fills the hole with the last slot.
func (l *recencyList[K, V]) remove(i int32) {
	l.unlink(i)
	l.unindex(i)
	last := int32(len(l.nodes) - 1)
	if i != last {
		l.table[l.cell(last)] = i
		n := l.nodes[last]
		l.nodes[i] = n
		l.nodes[n.prev].next = i
		l.nodes[n.next].prev = i
	}
	l.nodes[last] = listNode[K, V]{} // drop references for the garbage collector
	l.nodes = l.nodes[:last]
}

// clear removes every entry. The table keeps its size.
func (l *recencyList[K, V]) clear() {
	clear(l.table)
	clear(l.nodes)
	l.nodes = l.nodes[:1]
}

// keys returns the keys from front to back.
func (l *recencyList[K, V]) keys() []K {
	keys := make([]K, 0, l.len())
	for i := l.nodes[0].next; i != 0; i = l.nodes[i].next {
		keys = append(keys, l.nodes[i].key)
	}
	return keys
}

// entries returns the entries from front to back.
func (l *recencyList[K, V]) entries() []entry[K, V] {
	entries := make([]entry[K, V], 0, l.len())
	for i := l.nodes[0].next; i != 0; i = l.nodes[i].next {
		entries = append(entries, entry[K, V]{l.nodes[i].key, l.nodes[i].value})
	}
	return entries
}

// snapshotSeq returns an iterator over the snapshot that entries takes when
// iteration starts.
func snapshotSeq[K comparable, V any](entries func() []entry[K, V]) iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for _, e := range entries() {
			if !yield(e.key, e.value) {
				return
			}
		}
	}
}

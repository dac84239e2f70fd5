package sqltable

import (
	"crypto/sha256"
	"strconv"
	"testing"
	"time"
)

// BenchmarkAccessHit measures what an AccessLog adds to a read that finds
// its entry: the count in memory, with no I/O.
func BenchmarkAccessHit(b *testing.B) {
	l, err := NewAccessLog(&AccessLogOptions{FlushInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	buf := &accessBuffer{log: l, name: "bench", pending: make(map[[32]byte]access)}
	hashes := make([][32]byte, 1000)
	for i := range hashes {
		hashes[i] = sha256.Sum256([]byte(strconv.Itoa(i)))
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			buf.hit(hashes[i%len(hashes)], time.Now())
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				buf.hit(hashes[i%len(hashes)], time.Now())
				i++
			}
		})
	})
}

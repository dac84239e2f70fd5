package archive_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/keymap"
)

// benchArchive is what the benchmarks use of a File or a Dir.
type benchArchive interface {
	cache.Archive[point]
	cache.ManyPutter[point]
}

func benchArchives(b *testing.B) map[string]func(b *testing.B) benchArchive {
	return map[string]func(b *testing.B) benchArchive{
		"File": func(b *testing.B) benchArchive {
			return openFile[point](b, filepath.Join(b.TempDir(), "memo.klepto"), nil)
		},
		"Dir": func(b *testing.B) benchArchive {
			return openDir[point](b, filepath.Join(b.TempDir(), "memo"), nil)
		},
	}
}

// benchKeys returns n keys as a memo with the string keymap makes them.
func benchKeys(n int) []keymap.Key {
	keys := make([]keymap.Key, n)
	for i := range keys {
		keys[i] = intKey("(x=", i)
	}
	return keys
}

// BenchmarkGet reads entries of an archive of 1000.
func BenchmarkGet(b *testing.B) {
	for _, name := range []string{"File", "Dir"} {
		b.Run(name, func(b *testing.B) {
			a := benchArchives(b)[name](b)
			ctx := context.Background()
			keys := benchKeys(1000)
			entries := make([]cache.Entry[point], len(keys))
			for i, k := range keys {
				entries[i] = cache.Entry[point]{Key: k, Value: pointValue(i)}
			}
			if err := a.PutMany(ctx, entries); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, found, err := a.Get(ctx, keys[i%len(keys)]); err != nil || !found {
					b.Fatal(found, err)
				}
				i++
			}
		})
	}
}

// BenchmarkPut writes a new entry per operation, fsync included.
func BenchmarkPut(b *testing.B) {
	for _, name := range []string{"File", "Dir"} {
		b.Run(name, func(b *testing.B) {
			a := benchArchives(b)[name](b)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := a.Put(ctx, intKey("(x=", i), pointValue(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkPutMany writes batches of 100 new entries, and reports the
// entries written per second as rows/s.
func BenchmarkPutMany(b *testing.B) {
	const batch = 100
	for _, name := range []string{"File", "Dir"} {
		b.Run(name, func(b *testing.B) {
			a := benchArchives(b)[name](b)
			ctx := context.Background()
			entries := make([]cache.Entry[point], batch)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for j := range entries {
					i := n*batch + j
					entries[j] = cache.Entry[point]{Key: intKey("(x=", i), Value: pointValue(i)}
				}
				if err := a.PutMany(ctx, entries); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n*batch)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

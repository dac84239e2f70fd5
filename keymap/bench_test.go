package keymap

import (
	"testing"
	"time"
)

// smallArgs is the typical hot-path argument: a 2-field struct.
type smallArgs struct {
	A int
	B string
}

// largeArgs has one of everything.
type largeArgs struct {
	Query   string
	Limit   int
	Weights []float64
	Tags    map[string]string
	Point   point
	Since   time.Time
	Opts    *largeOpts
}

type largeOpts struct {
	Verbose bool
	Ratio   float32
}

func benchArgs() map[string]any {
	weights := make([]float64, 20)
	for i := range weights {
		weights[i] = float64(i) / 7
	}
	return map[string]any{
		"small": smallArgs{42, "hello"},
		"large": largeArgs{
			Query:   "select * from t where id = ?",
			Limit:   100,
			Weights: weights,
			Tags:    map[string]string{"env": "prod", "team": "core", "region": "eu", "tier": "1", "zone": "b"},
			Point:   point{3, 4},
			Since:   instant,
			Opts:    &largeOpts{true, 0.5},
		},
	}
}

func benchKeymaps(b *testing.B) map[string]*Keymap {
	json := mustKeymap(b)(NewEncoded(JSON, nil))
	sha := mustKeymap(b)(NewHash(SHA256, nil))
	return map[string]*Keymap{
		"string":         mustKeymap(b)(NewString(nil)),
		"raw":            mustKeymap(b)(NewRaw(nil)),
		"hash-sha256":    sha,
		"hash-xxh3":      mustKeymap(b)(NewHash(XXH3, nil)),
		"encoded-json":   json,
		"chain-json-sha": mustKeymap(b)(Chain(json, sha)),
	}
}

// BenchmarkKey measures Key, which allocates the key text.
func BenchmarkKey(b *testing.B) {
	for kname, k := range benchKeymaps(b) {
		for aname, args := range benchArgs() {
			b.Run(kname+"/"+aname, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := k.Key(args); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkAppendText measures AppendText into a reused buffer: the path of a
// memoized call served from memory.
func BenchmarkAppendText(b *testing.B) {
	for kname, k := range benchKeymaps(b) {
		for aname, args := range benchArgs() {
			b.Run(kname+"/"+aname, func(b *testing.B) {
				buf := make([]byte, 0, 1024)
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if buf, err = k.AppendText(buf[:0], args); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkAppendTextOptions measures the options that do work per call.
func BenchmarkAppendTextOptions(b *testing.B) {
	for name, opts := range map[string]*Options{
		"typed": {Typed: true},
		"flat":  {Flat: true},
		"round": {Round: Deep, Tol: 2},
	} {
		k := mustKeymap(b)(NewString(opts))
		args := benchArgs()["large"]
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = k.AppendText(buf[:0], args)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	key := mustKey(b, mustKeymap(b)(NewRaw(nil)), benchArgs()["large"])
	data := []byte(key.Text)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

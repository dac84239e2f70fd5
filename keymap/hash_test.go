package keymap

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestHashGolden pins the digest of struct{ N int }{30}, whose binary
// encoding is 01 01 41 01 4e 49 3c, under each algorithm.
func TestHashGolden(t *testing.T) {
	want := map[Algorithm]string{
		SHA256: "19f512698bbe7fdf193d1cd6395dcd513431dc2c4d23158b398e4fcbd3b45d45",
		MD5:    "e5e1bbbd6da4449494edea8f7ea164e8",
		SHA1:   "5f4fb63ef21524b7d0dbe1827a302d3a1de0df67",
		SHA512: "ca7f3437aa68cfcf100c1cab75df6eb1b5c35347558b40a75d0b3c609ab6677d95796cbda7a9dfa4e2b2285c75c361d7ae47948ee88864d35ddad0ebe0051e1b",
		FNV:    "bba1a8fa94ae91b8",
		XXH3:   "90c61e6ed74d5e81",
	}
	for alg, digest := range want {
		t.Run(alg.String(), func(t *testing.T) {
			k := mustKeymap(t)(NewHash(alg, nil))
			key, err := k.Key(struct{ N int }{30})
			if err != nil {
				t.Fatal(err)
			}
			if key.Text != digest {
				t.Errorf("got %s, want %s", key.Text, digest)
			}
			if key.Hash != sha256.Sum256([]byte(digest)) {
				t.Errorf("Hash is not sha256(Text)")
			}
		})
	}
}

// TestHashOfRaw checks that a Hash key is the digest of the Raw key, with
// the same options.
func TestHashOfRaw(t *testing.T) {
	opts := &Options{Typed: true, Flat: true, Round: Deep, Tol: 1, Ignore: []string{"Y"}}
	args := struct {
		Z []float64
		Y string
		X map[string]any
	}{[]float64{1.25, 2.35}, "ignored", map[string]any{"a": []byte("b")}}
	raw, err := mustKeymap(t)(NewRaw(opts)).Key(args)
	if err != nil {
		t.Fatal(err)
	}
	key, err := mustKeymap(t)(NewHash(SHA256, opts)).Key(args)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(raw.Text))
	if want := hex.EncodeToString(sum[:]); key.Text != want {
		t.Errorf("hash key %s, want sha256 of raw key %s", key.Text, want)
	}
}

package keymap

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	"github.com/zeebo/xxh3"
)

// Algorithm is a digest of the Hash keymap (see [NewHash]).
type Algorithm uint8

// Algorithms. FNV is 64-bit FNV-1a and XXH3 is 64-bit XXH3 with seed 0; both
// are fast but not collision resistant, so keys of different calls may
// collide. The others are the crypto/... digests.
const (
	SHA256 Algorithm = iota
	MD5
	SHA1
	SHA512
	FNV
	XXH3
)

var algorithmNames = [...]string{SHA256: "sha256", MD5: "md5", SHA1: "sha1", SHA512: "sha512", FNV: "fnv", XXH3: "xxh3"}

// String returns "sha256", "md5", "sha1", "sha512", "fnv" or "xxh3".
func (a Algorithm) String() string {
	if int(a) < len(algorithmNames) {
		return algorithmNames[a]
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}

// ParseAlgorithm returns the Algorithm whose String is s.
func ParseAlgorithm(s string) (Algorithm, error) {
	if i := slices.Index(algorithmNames[:], s); i >= 0 {
		return Algorithm(i), nil
	}
	return 0, fmt.Errorf("%w: unknown algorithm %q", ErrInvalidOptions, s)
}

// appendDigest appends the lowercase hex digest of b to dst.
func (a Algorithm) appendDigest(dst, b []byte) []byte {
	switch a {
	case MD5:
		sum := md5.Sum(b)
		return hex.AppendEncode(dst, sum[:])
	case SHA1:
		sum := sha1.Sum(b)
		return hex.AppendEncode(dst, sum[:])
	case SHA512:
		sum := sha512.Sum512(b)
		return hex.AppendEncode(dst, sum[:])
	case FNV:
		return appendHex64(dst, fnv1a64(b))
	case XXH3:
		return appendHex64(dst, xxh3.Hash(b))
	}
	sum := sha256.Sum256(b)
	return hex.AppendEncode(dst, sum[:])
}

// appendHex64 appends the 16 hex digits of x, most significant first.
func appendHex64(dst []byte, x uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], x)
	return hex.AppendEncode(dst, b[:])
}

// fnv1a64 is hash/fnv's New64a without the allocation.
func fnv1a64(b []byte) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for _, c := range b {
		h ^= uint64(c)
		h *= prime
	}
	return h
}

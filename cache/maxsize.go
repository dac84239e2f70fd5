package cache

import (
	"errors"
	"fmt"
	"math"
)

// ErrMaxSize is the error, wrapped, that [NewLRU], [NewLFU], [NewMRU] and
// [NewRR] return when maxSize is out of range. Test for it with [errors.Is].
var ErrMaxSize = errors.New("cache: maxsize out of range")

// maxMaxSize is the largest bound a policy cache accepts: entries are
// addressed by int32 indices, and index 0 is reserved.
const maxMaxSize = math.MaxInt32 - 1

// maxSizeError reports a maxSize outside [1, maxMaxSize].
type maxSizeError struct{ got int }

func (e *maxSizeError) Error() string {
	if e.got < 1 {
		return fmt.Sprintf("cache: maxsize must be at least 1, got %d", e.got)
	}
	return fmt.Sprintf("cache: maxsize must be at most %d, got %d", maxMaxSize, e.got)
}

func (e *maxSizeError) Unwrap() error { return ErrMaxSize }

// checkMaxSize returns an error wrapping [ErrMaxSize] when n is not a valid
// bound.
func checkMaxSize(n int) error {
	if n < 1 || n > maxMaxSize {
		return &maxSizeError{got: n}
	}
	return nil
}

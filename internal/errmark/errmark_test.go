package errmark_test

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/klepto-sql/klepto/internal/errmark"
)

var errSentinel = errors.New("pkg: sentinel")

func TestErrorf(t *testing.T) {
	cause := &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}
	err := errmark.Errorf(errSentinel, "pkg thing: open: %w", cause)
	if got, want := err.Error(), "pkg thing: open: open /x: file does not exist"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, errSentinel) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is misses the sentinel or the cause of %v", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe != cause {
		t.Errorf("errors.As does not find the *fs.PathError in %v", err)
	}
	if errors.Is(errmark.Errorf(errSentinel, "no cause"), fs.ErrNotExist) {
		t.Error("an error without %w matches fs.ErrNotExist")
	}
}

func TestNew(t *testing.T) {
	cause := &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}
	err := errmark.New("pkg: no file at /x", errSentinel, nil, cause)
	if got, want := err.Error(), "pkg: no file at /x"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var pe *fs.PathError
	if !errors.Is(err, errSentinel) || !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) {
		t.Errorf("errors.Is or errors.As misses what %v wraps", err)
	}
}

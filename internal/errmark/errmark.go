package errmark

import "fmt"

// Errorf returns an error whose text is fmt.Errorf(format, args...) and
// which matches sentinel in errors.Is. Its Unwrap method returns both the
// error of fmt.Errorf, so that errors wrapped with %w stay reachable with
// errors.Is and errors.As, and sentinel.
func Errorf(sentinel error, format string, args ...any) error {
	return &marked{err: fmt.Errorf(format, args...), sentinel: sentinel}
}

// marked is an error with the text of err that also matches sentinel.
type marked struct {
	err      error
	sentinel error
}

func (e *marked) Error() string   { return e.err.Error() }
func (e *marked) Unwrap() []error { return []error{e.err, e.sentinel} }

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

// New returns an error whose text is text and which wraps every non-nil
// error of wrapped, for errors.Is and errors.As, without showing their
// text: for a message that says in its own words what a wrapped error
// says, such as a problem it describes of a name it does not repeat.
func New(text string, wrapped ...error) error {
	var errs []error
	for _, err := range wrapped {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return &worded{text: text, errs: errs}
}

// worded is an error with its own text that wraps errs.
type worded struct {
	text string
	errs []error
}

func (e *worded) Error() string   { return e.text }
func (e *worded) Unwrap() []error { return e.errs }

// Package errmark makes errors that match a sentinel error, with
// errors.Is, without repeating the sentinel's text. It lets a package say
// `sqltable fib: open: negative TTL -1s` and still have the error match
// sqltable.ErrInvalidOptions, whose own text is only for the sentinel
// printed alone.
//
// The errors are immutable and safe for concurrent use.
package errmark

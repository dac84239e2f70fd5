// Package errmark makes errors that match a sentinel error, or wrap other
// errors, with errors.Is and errors.As, without repeating their text.
// [Errorf] lets a package say `sqltable fib: open: negative TTL -1s` and
// still have the error match sqltable.ErrInvalidOptions, whose own text is
// only for the sentinel printed alone; [New] lets sqlarchive say what is
// wrong with an archive name without the dialect's message, which names
// the name again.
//
// The errors are immutable and safe for concurrent use.
package errmark

package cache

import (
	"fmt"
	"runtime/debug"
	"sync"
)

// flightGroup lets one caller per key compute while the others wait, like
// golang.org/x/sync/singleflight, specialised and with context-aware waits.
type flightGroup[R any] struct {
	mu sync.Mutex // guards m
	m  map[string]*flight[R]
}

type flight[R any] struct {
	done chan struct{} // closed when val and err are set
	val  R
	err  error
}

// join returns the flight of key and whether the caller leads it.
func (g *flightGroup[R]) join(key string) (*flight[R], bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f, false
	}
	if g.m == nil {
		g.m = make(map[string]*flight[R])
	}
	f := &flight[R]{done: make(chan struct{})}
	g.m[key] = f
	return f, true
}

// done ends the flight of key; its leader has set val and err.
func (g *flightGroup[R]) done(key string, f *flight[R]) {
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
	close(f.done)
}

// PanicError is the error a [Memo] returns when its function panics. The
// panic is recovered on the caller's goroutine, nothing is cached, and every
// caller waiting for that key gets this error.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack
}

func newPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// Error returns the panic value and the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("cache: function panicked: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

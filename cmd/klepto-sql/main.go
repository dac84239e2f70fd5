package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// stopGrace is how long klepto-sql waits, after the first signal, for the
// command to stop before it exits anyway.
const stopGrace = 3 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal cancels ctx, and the command stops cleanly; stop
	// then restores the default handling, so that a second signal kills
	// a command that does not stop. One that waits for a driver that pays
	// no heed to ctx, such as lib/pq reading the answer of a server that
	// hangs, ends stopGrace later.
	context.AfterFunc(ctx, func() {
		stop()
		time.AfterFunc(stopGrace, func() {
			fmt.Fprintf(os.Stderr, "klepto-sql: %v, and the command did not stop within %v: exiting\n", context.Cause(ctx), stopGrace)
			os.Exit(exitFailure)
		})
	})
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

package main

import (
	"context"
	"database/sql/driver"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/klepto-sql/klepto/sqlarchive/pqconn"
)

// defaultConnectTimeout bounds each connection to a server, unless
// -connect-timeout or $KLEPTO_CONNECT_TIMEOUT says otherwise.
const defaultConnectTimeout = 10 * time.Second

// Environment variables holding the defaults of -connect-timeout and -timeout.
const (
	connectTimeoutEnv = "KLEPTO_CONNECT_TIMEOUT"
	timeoutEnv        = "KLEPTO_TIMEOUT"
)

// connectTimeoutError is the error of a connection that the server did
// not complete within -connect-timeout.
type connectTimeoutError struct{ timeout time.Duration }

func (e *connectTimeoutError) Error() string {
	return fmt.Sprintf("no answer within %v (-connect-timeout, $%s)", e.timeout, connectTimeoutEnv)
}

func (e *connectTimeoutError) Unwrap() error { return context.DeadlineExceeded }

// timeoutConnector makes the connections of a driver.Connector end when
// their context does, within timeout if it is set, whatever the server
// does: go-sql-driver/mysql watches the context of a connection itself,
// and so do the connections of package pqconn, which newPostgresConnector
// makes.
type timeoutConnector struct {
	driver.Connector
	timeout time.Duration // 0 for none
}

// Connect returns a connection of the wrapped connector, or an error
// when ctx ends or timeout passes first.
func (c *timeoutConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.timeout, &connectTimeoutError{c.timeout})
		defer cancel()
	}
	conn, err := c.Connector.Connect(ctx)
	if err == nil {
		return conn, nil
	}
	if ctx.Err() != nil {
		// The error of the driver, such as an i/o timeout, would only
		// hide why.
		return nil, context.Cause(ctx)
	}
	return nil, err
}

// newPostgresConnector returns a connector of lib/pq for dsn whose
// connections end with their context, while they are set up too.
func newPostgresConnector(dsn string) (driver.Connector, error) {
	return pqconn.NewConnector(dsn, nil)
}

// commandTimeoutError is the cause of the end of a command that ran
// longer than -timeout.
type commandTimeoutError struct{ timeout time.Duration }

func (e *commandTimeoutError) Error() string {
	return fmt.Sprintf("stopped after -timeout %v ($%s)", e.timeout, timeoutEnv)
}

func (e *commandTimeoutError) Unwrap() error { return context.DeadlineExceeded }

// timeoutFlags registers -connect-timeout and -timeout on fs, the flags
// of klepto-sql itself, with their defaults from the environment.
func (e *env) timeoutFlags(fs *flag.FlagSet) error {
	e.connectTimeout = defaultConnectTimeout
	for _, v := range []struct {
		env string
		p   *time.Duration
	}{{connectTimeoutEnv, &e.connectTimeout}, {timeoutEnv, &e.timeout}} {
		s := e.getenv(v.env)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return usagef("$%s: want a duration such as 30s, or 0 for none: %q", v.env, s)
		}
		*v.p = d
	}
	e.timeoutFlagsAfter(fs)
	return nil
}

// timeoutFlagsAfter registers -connect-timeout and -timeout on fs, the
// flags of a command that uses a database, with the values given before
// the command as their defaults.
func (e *env) timeoutFlagsAfter(fs *flag.FlagSet) {
	fs.DurationVar(&e.connectTimeout, "connect-timeout", e.connectTimeout,
		"give up connecting to a server after `D`; 0 for never; default $"+connectTimeoutEnv+", else 10s")
	fs.DurationVar(&e.timeout, "timeout", e.timeout,
		"stop the command after `D`; 0 for never; default $"+timeoutEnv+", else 0")
}

// runCommand runs c with args, within -timeout if set. An error that
// the end of ctx caused says why ctx ended: a signal, or -timeout.
func (e *env) runCommand(ctx context.Context, c command, args []string) error {
	if e.connectTimeout < 0 || e.timeout < 0 {
		return usagef("negative -connect-timeout or -timeout")
	}
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, e.timeout, &commandTimeoutError{e.timeout})
		defer cancel()
	}
	err := c.Run(ctx, args)
	if err != nil && ctx.Err() != nil {
		if cause := context.Cause(ctx); !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}
	return err
}

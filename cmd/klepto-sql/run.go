package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/klepto-sql/klepto/sqlarchive"
)

// Exit statuses.
const (
	exitOK      = 0 // success, or help that was asked for
	exitFailure = 1 // the command failed
	exitUsage   = 2 // the command line is wrong
)

// A command is one subcommand of klepto-sql. Each has a type and a file
// of its own, and its own flag set, made by flags.
type command interface {
	// doc returns the command's help.
	doc() *commandDoc
	// flags registers the command's flags on fs, bound to its fields.
	flags(fs *flag.FlagSet)
	// Run runs the command with its positional arguments, once its flags
	// are parsed.
	Run(ctx context.Context, args []string) error
}

// A commandDoc is the help of a command.
type commandDoc struct {
	name     string
	args     string   // the positional arguments, as in "NAME KEY..."
	need     []string // the names of the required arguments, in order
	max      int      // the most arguments; -1 for any number
	summary  string   // one line for the list of commands
	text     string   // what the command does, for its help
	examples []string // command lines with comments; the first is the Try: hint
}

// env is what the commands share: the streams, and the passwords of the
// databases named on the command line, which no message may show.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	globalDB       string        // -db given before the command
	connectTimeout time.Duration // of each connection to a server; 0 for none
	timeout        time.Duration // of the whole command; 0 for none
	args           []string      // the command line, without the program name
	secrets        []string
}

// commands returns every command, in the order of the help.
func (e *env) commands() []command {
	return []command{
		&migrateCommand{env: e},
		&lsCommand{env: e},
		&createCommand{env: e},
		&dropCommand{env: e},
		&alterCommand{env: e},
		&showCommand{env: e},
		&getCommand{env: e},
		&putCommand{env: e},
		&rmCommand{env: e},
		&keyCommand{env: e},
		&exportCommand{env: e},
		&importCommand{env: e},
		&copyCommand{env: e},
		&purgeCommand{env: e},
		&statsCommand{env: e},
		&watchCommand{env: e},
		&completionCommand{env: e},
		&versionCommand{env: e},
		&helpCommand{env: e},
	}
}

// testCommands, set by tests only, returns commands that lookup finds
// besides those of commands, and that the help does not list.
var testCommands func(e *env) []command

// lookup returns the command called name, or nil.
func (e *env) lookup(name string) command {
	all := e.commands()
	if testCommands != nil {
		all = append(all, testCommands(e)...)
	}
	for _, c := range all {
		if c.doc().name == name {
			return c
		}
	}
	return nil
}

// run runs klepto-sql with the command-line arguments args (without the
// program name) and returns its exit status. It never calls os.Exit and
// touches no stream but those it is given.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, getenv: os.Getenv, args: args}
	e.stderr = &redactWriter{w: stderr, e: e}
	if dsn := e.getenv(dsnEnv); dsn != "" {
		e.secret(dsn)
	}
	root, err := e.rootFlags()
	if err != nil {
		return e.exit(nil, err)
	}
	if err := root.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.printHelp(stdout)
			return exitOK
		}
		return e.exit(nil, &usageError{msg: err.Error()})
	}
	if root.NArg() == 0 {
		return e.exit(nil, &usageError{msg: "no command given"})
	}
	if e.globalDB != "" {
		e.secret(e.globalDB)
	}
	name := root.Arg(0)
	c := e.lookup(name)
	if c == nil {
		return e.exit(nil, &usageError{msg: fmt.Sprintf("unknown command %q", name)})
	}
	fs := e.commandFlags(c)
	if fs.Lookup("db") != nil && e.globalDB != "" {
		if err := fs.Set("db", e.globalDB); err != nil {
			return e.exit(c, err)
		}
	}
	pos, err := parseArgs(fs, root.Args()[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		e.printCommandHelp(stdout, c)
		return exitOK
	case err != nil:
		return e.exit(c, &usageError{msg: err.Error()})
	}
	if err := checkArgs(c.doc(), pos); err != nil {
		return e.exit(c, err)
	}
	err = e.runCommand(ctx, c, pos)
	if errors.Is(err, sqlarchive.ErrInvalidName) {
		// Archive names come from the command line.
		err = &usageError{msg: err.Error()}
	}
	return e.exit(c, err)
}

// exit prints err, if any, once, with the usage of c (nil for klepto-sql
// itself) after a usage error, and returns the exit status.
func (e *env) exit(c command, err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(e.stderr, "klepto-sql: %s\n", e.redactText(err.Error()))
	var ue *usageError
	if !errors.As(err, &ue) {
		return exitFailure
	}
	if c == nil {
		fmt.Fprintf(e.stderr, "Usage: klepto-sql [-db DSN] COMMAND [flags] [arguments]\nTry: klepto-sql help\n")
		return exitUsage
	}
	d := c.doc()
	fmt.Fprintf(e.stderr, "Usage: %s\n", synopsis(c))
	switch {
	case ue.try != "":
		fmt.Fprintf(e.stderr, "Try: %s\n", e.redactText(ue.try))
	case len(d.examples) > 0:
		fmt.Fprintf(e.stderr, "Try: %s\n", firstCommandLine(d.examples[0]))
	}
	fmt.Fprintf(e.stderr, "More: klepto-sql help %s\n", d.name)
	return exitUsage
}

// usageError is a mistake in the command line: an unknown command or flag,
// a missing or extra argument. It exits with status 2, after the usage.
type usageError struct {
	msg string
	try string // the command line to suggest; "" for the command's first example
}

func (e *usageError) Error() string { return e.msg }

// usagef returns a *usageError.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// rootFlags returns the flag set of klepto-sql itself, for the flags
// before the command, with the defaults of the environment.
func (e *env) rootFlags() (*flag.FlagSet, error) {
	root := flag.NewFlagSet("klepto-sql", flag.ContinueOnError)
	root.SetOutput(io.Discard)
	dbFlag(root, &e.globalDB)
	return root, e.timeoutFlags(root)
}

// commandFlags returns the flag set of c as run parses it: with
// -connect-timeout and -timeout if c takes -db.
func (e *env) commandFlags(c command) *flag.FlagSet {
	fs := newFlagSet(c)
	if fs.Lookup("db") != nil {
		e.timeoutFlagsAfter(fs)
	}
	return fs
}

// newFlagSet returns the flag set of c, which reports errors instead of
// printing them.
func newFlagSet(c command) *flag.FlagSet {
	fs := flag.NewFlagSet("klepto-sql "+c.doc().name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.flags(fs)
	return fs
}

// parseArgs parses args with fs, flags and positional arguments in any
// order, as in `drop fib -yes`, and returns the positional ones. After
// "--", every argument is positional, for values that start with '-'.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// checkArgs returns a *usageError unless args has as many arguments as d
// asks for.
func checkArgs(d *commandDoc, args []string) error {
	if len(args) < len(d.need) {
		return usagef("%s: missing %s", d.name, d.need[len(args)])
	}
	if d.max >= 0 && len(args) > d.max {
		return usagef("%s: unexpected argument %q", d.name, args[d.max])
	}
	return nil
}

// synopsis returns the usage line of c, its flags read from its flag set.
func synopsis(c command) string {
	d := c.doc()
	var b strings.Builder
	b.WriteString("klepto-sql " + d.name)
	newFlagSet(c).VisitAll(func(f *flag.Flag) {
		name, _ := flag.UnquoteUsage(f)
		if name == "" {
			fmt.Fprintf(&b, " [-%s]", f.Name)
		} else {
			fmt.Fprintf(&b, " [-%s %s]", f.Name, name)
		}
	})
	if d.args != "" {
		b.WriteString(" " + d.args)
	}
	return b.String()
}

// shellQuote returns args as a shell command line.
func shellQuote(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
			quoted[i] = a
		} else {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

// firstCommandLine returns the first line of example that is a command,
// for the Try: hint.
func firstCommandLine(example string) string {
	for line := range strings.SplitSeq(example, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "klepto-sql") {
			return line
		}
	}
	return example
}

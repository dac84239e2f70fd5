package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// helpCommand prints the help of klepto-sql or of one command.
type helpCommand struct{ *env }

func (c *helpCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "help",
		args:    "[COMMAND]",
		max:     1,
		summary: "print this help, or the help of a command",
		text:    "Help prints the list of commands, or the flags and examples of one command.\n`klepto-sql COMMAND -h` prints the same.",
		examples: []string{
			"klepto-sql help export",
		},
	}
}

func (c *helpCommand) flags(*flag.FlagSet) {}

func (c *helpCommand) Run(_ context.Context, args []string) error {
	if len(args) == 0 {
		c.printHelp(c.stdout)
		return nil
	}
	cmd := c.lookup(args[0])
	if cmd == nil {
		return usagef("help: unknown command %q", args[0])
	}
	c.printCommandHelp(c.stdout, cmd)
	return nil
}

// dbHelp explains the -db flag.
const dbHelp = `Databases (-db DSN; the default is $KLEPTO_DSN, else sqlite:klepto.db):
  sqlite:PATH, or a PATH ending in .db          a SQLite file
  postgres://USER:PASS@HOST:5432/DB?sslmode=disable
                                                PostgreSQL (postgresql:// too; as lib/pq takes it)
                                                add pooler=transaction behind PgBouncer in transaction mode
  mysql://USER:PASS@HOST:3306/DB                MySQL or MariaDB
  mysql:USER:PASS@tcp(HOST:3306)/DB             the same, as go-sql-driver/mysql takes it
Passwords are never printed.
-connect-timeout D gives up connecting to a server after D (default
$KLEPTO_CONNECT_TIMEOUT, else 10s); -timeout D stops the command after D
(default $KLEPTO_TIMEOUT, else never); 0 is never. Both go before or after
the command. The first interrupt (Ctrl-C) or SIGTERM stops the command,
with status 1, within 3s; a second one kills it.`

// keyHelp explains how keys and values are written.
const keyHelp = `Keys are written as the key_text column stores them, such as '(n=30)' for
f(n=30) memoized with the default string keymap; keys stored as base64:...
are given as shown. Values are JSON for archives of codec json; bytes as
they are for codec raw; gob values, which only Go programs can make, are
printed and exported as their bytes, and cannot be typed in.`

const exitHelp = `Exit status: 0 success, or help that was asked for; 1 failure; 2 a usage
error (unknown command or flag, missing argument, or a destructive command
without -yes).`

// printHelp prints the help of klepto-sql.
func (e *env) printHelp(w io.Writer) {
	fmt.Fprintf(w, `klepto-sql manages klepto archives: tables of cached results (memoized
function calls) in SQLite, PostgreSQL and MySQL/MariaDB databases.

Usage: klepto-sql [-db DSN] COMMAND [flags] [arguments]

Commands:
`)
	cmds := e.commands()
	for _, c := range cmds {
		d := c.doc()
		fmt.Fprintf(w, "  %-8s  %s\n", d.name, d.summary)
	}
	fmt.Fprintf(w, "\n%s\n\n%s\n\nExamples:\n", dbHelp, keyHelp)
	for _, c := range cmds {
		if d := c.doc(); len(d.examples) > 0 {
			fmt.Fprintf(w, "  %s\n", firstCommandLine(d.examples[0]))
		}
	}
	fmt.Fprintf(w, "\n%s\nRun 'klepto-sql help COMMAND' for the flags and examples of a command.\n", exitHelp)
}

// printCommandHelp prints the help of c.
func (e *env) printCommandHelp(w io.Writer, c command) {
	d := c.doc()
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", synopsis(c), d.text)
	fs := newFlagSet(c)
	hasFlags, hasDB := false, false
	fs.VisitAll(func(f *flag.Flag) { hasFlags, hasDB = true, hasDB || f.Name == "db" })
	if hasFlags {
		fmt.Fprintf(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if hasDB {
		fmt.Fprintf(w, "\n%s\n", dbHelp)
	}
	if len(d.examples) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, ex := range d.examples {
			for line := range strings.SplitSeq(ex, "\n") {
				fmt.Fprintf(w, "  %s\n", line)
			}
		}
	}
	fmt.Fprintf(w, "\n%s\n", exitHelp)
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/klepto-sql/klepto/sqltable"
)

// skipBadFlag registers -skip-bad on fs.
func skipBadFlag(fs *flag.FlagSet, p *bool) {
	fs.BoolVar(p, "skip-bad", false, "skip the rows that cannot be read (written by other tools or damaged), and count them on stderr")
}

// shownBadRows is how many of the bad rows it skipped a command lists.
const shownBadRows = 3

// reportSkipped writes to w, when rows were skipped, how many bad rows of
// the archive called name a command skipped, and the first few of them.
func reportSkipped(w io.Writer, name string, skipped int, first []*sqltable.BadRowError) {
	if skipped == 0 {
		return
	}
	plural := "s"
	if skipped == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "klepto-sql: %s: skipped %d bad row%s\n", name, skipped, plural)
	for i, bad := range first {
		if i == shownBadRows {
			fmt.Fprintf(w, "  …\n")
			break
		}
		fmt.Fprintf(w, "  %v\n", bad)
	}
}

// badRowHint returns err, and for an error about a bad row, one that
// says how to skip such rows.
func badRowHint(err error) error {
	if _, ok := errors.AsType[*sqltable.BadRowError](err); ok {
		return fmt.Errorf("%w (-skip-bad skips the rows that cannot be read)", err)
	}
	return err
}

package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/klepto-sql/klepto/codec"
)

// jsonFlag registers -json on fs.
func jsonFlag(fs *flag.FlagSet, p *bool) {
	fs.BoolVar(p, "json", false, "print JSON instead of text")
}

// yesFlag registers -yes on fs.
func yesFlag(fs *flag.FlagSet, p *bool, what string) {
	fs.BoolVar(p, "yes", false, "confirm: "+what)
}

// writeJSON writes v as one line of JSON, with <, > and & as they are.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// newTable returns a writer that aligns tab-separated columns; flush it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// timestamp is a time in JSON: RFC 3339 in UTC, with as many fractional
// digits as it needs, or null for the zero time.
type timestamp time.Time

func (t timestamp) MarshalJSON() ([]byte, error) {
	tm := time.Time(t)
	if tm.IsZero() {
		return []byte("null"), nil
	}
	return []byte(strconv.Quote(tm.UTC().Format(time.RFC3339Nano))), nil
}

func (t *timestamp) UnmarshalJSON(b []byte) error {
	var tm *time.Time
	if err := json.Unmarshal(b, &tm); err != nil {
		return err
	}
	*t = timestamp{}
	if tm != nil {
		*t = timestamp(tm.UTC())
	}
	return nil
}

// formatTime returns tm for text output, in UTC to the second, or "-".
func formatTime(tm time.Time) string {
	if tm.IsZero() {
		return "-"
	}
	return tm.UTC().Format(time.RFC3339)
}

// formatAge returns how long before now tm was, for text output: "as of
// 3s ago", with the time, or "never" for the zero time.
func formatAge(tm, now time.Time) string {
	if tm.IsZero() {
		return "never"
	}
	age := max(now.Sub(tm), 0).Round(time.Second)
	return fmt.Sprintf("as of %v ago (%s)", age, formatTime(tm))
}

// formatAgo returns how long before now tm was, for a column: "3s ago",
// or "-" for the zero time.
func formatAgo(tm, now time.Time) string {
	if tm.IsZero() {
		return "-"
	}
	return max(now.Sub(tm), 0).Round(time.Second).String() + " ago"
}

// formatTimePtr returns *tm as formatTime does, or "-" if tm is nil.
func formatTimePtr(tm *time.Time) string {
	if tm == nil {
		return "-"
	}
	return formatTime(*tm)
}

// formatTTL returns ttl for text output, or "-" for none.
func formatTTL(ttl time.Duration) string {
	if ttl == 0 {
		return "-"
	}
	return ttl.String()
}

// previewLen is the most characters of a value shown by show.
const previewLen = 60

// preview returns a short, one-line view of a value stored with codec c:
// JSON without spaces, text as it is, other bytes in hex, cut to previewLen
// characters.
func preview(value []byte, c codec.Codec) string {
	var s string
	switch {
	case c == codec.JSON:
		var buf bytes.Buffer
		if json.Compact(&buf, value) == nil {
			value = buf.Bytes()
		}
		s = string(value)
	case c == codec.Raw && isText(value):
		s = string(value)
	default:
		s = "0x" + hex.EncodeToString(value[:min(len(value), previewLen/2)])
		if len(value) > previewLen/2 {
			s += "…"
		}
		return s
	}
	return truncate(s, previewLen)
}

// isText reports whether b is UTF-8 text without control characters.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// truncate cuts s to n characters, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n-1 {
			return s[:j] + "…"
		}
		i++
	}
	return s
}

// printable returns s, quoted if it holds characters that would break a
// line of text output, such as tabs and newlines.
func printable(s string) string {
	if isText([]byte(s)) {
		return s
	}
	return strconv.Quote(s)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	if r, ok := w.(*redactWriter); ok {
		w = r.w
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bar is a progress bar on stderr, drawn only when stderr is a terminal;
// a nil *bar draws nothing.
type bar struct{ pb *progressbar.ProgressBar }

// progress returns a progress bar of total steps (-1 if unknown), counted
// in bytes if bytes is set, or nil when stderr is not a terminal.
func (e *env) progress(total int64, description string, bytes bool) *bar {
	if !isTerminal(e.stderr) {
		return nil
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(description),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetSpinnerChangeInterval(0), // no goroutine of its own
		progressbar.OptionShowBytes(bytes),
	}
	if !bytes {
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionShowIts())
	}
	return &bar{progressbar.NewOptions64(total, opts...)}
}

// add advances the bar by n steps.
func (b *bar) add(n int) {
	if b != nil {
		_ = b.pb.Add(n)
	}
}

// finish clears the bar.
func (b *bar) finish() {
	if b != nil {
		_ = b.pb.Finish()
	}
}

// confirm returns nil if yes is set or, when stdin and stderr are
// terminals, if the person at them answers y to a question about action,
// such as `drop the archive "fib"`. Otherwise it returns a usage error
// that names the -yes flag: a destructive command never runs unconfirmed,
// nor waits for an answer nobody can give.
func (e *env) confirm(yes bool, action string) error {
	if yes {
		return nil
	}
	if isTerminal(e.stdin) && isTerminal(e.stderr) {
		fmt.Fprintf(e.stderr, "%s%s? [y/N] ", strings.ToUpper(action[:1]), action[1:])
		answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a == "y" || a == "yes" {
			return nil
		}
		return errors.New("not confirmed; nothing changed")
	}
	return &usageError{
		msg: fmt.Sprintf("refusing to %s without -yes; nothing changed", action),
		try: "klepto-sql " + shellQuote(append(slices.Clip(e.args), "-yes")),
	}
}

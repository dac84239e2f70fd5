package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/internal/sqltest"
)

// completionScript writes the completion script of shell to a file, and
// returns its text and path.
func completionScript(t *testing.T, shell string) (string, string) {
	t.Helper()
	script := ok(t, "completion", shell)
	path := filepath.Join(t.TempDir(), "klepto-sql."+shell)
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return script, path
}

// needShell skips the test unless shell is installed, saying so, or fails
// it under KLEPTO_TEST_REQUIRE_DBS=1 (CI installs the shells).
func needShell(t *testing.T, shell string) {
	t.Helper()
	if _, err := exec.LookPath(shell); err != nil {
		msg := fmt.Sprintf("%s is not installed: its completion script is not run", shell)
		if v := os.Getenv(sqltest.RequireEnv); v != "" && v != "0" {
			t.Fatalf("%s=%s but %s", sqltest.RequireEnv, v, msg)
		}
		t.Skip(msg)
	}
}

// Each completion script names every command and every flag of each, and
// its shell reads it without error.
func TestCompletionScripts(t *testing.T) {
	e := &env{getenv: func(string) string { return "" }}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			script, path := completionScript(t, shell)
			for _, c := range e.commands() {
				name := c.doc().name
				if !regexp.MustCompile(`(^|[\s'(])` + regexp.QuoteMeta(name) + `[\s:)']`).MatchString(script) {
					t.Errorf("the %s script does not name the command %s", shell, name)
				}
				e.commandFlags(c).VisitAll(func(f *flag.Flag) {
					if !regexp.MustCompile(`[\s'](-|-o )` + regexp.QuoteMeta(f.Name) + `[\s:|']`).MatchString(script) {
						t.Errorf("the %s script does not name the flag -%s of %s", shell, f.Name, name)
					}
				})
			}
			needShell(t, shell)
			if out, err := exec.CommandContext(t.Context(), shell, "-n", path).CombinedOutput(); err != nil {
				t.Fatalf("%s -n: %v\n%s", shell, err, out)
			}
		})
	}
	fails(t, exitUsage, []string{`completion: unknown shell "tcsh": want bash, zsh, fish`}, "completion", "tcsh")
}

// bash and fish complete commands, flags and fixed arguments, after a
// -db whose DSN holds colons too.
func TestCompletionRuns(t *testing.T) {
	tests := []struct {
		line string // the command line up to the cursor
		want []string
	}{
		{"klepto-sql ", []string{"copy", "completion", "key", "-db"}},
		{"klepto-sql co", []string{"copy", "completion"}},
		{"klepto-sql -db sqlite:x.db pu", []string{"purge", "put"}},
		{"klepto-sql put fib -r", []string{"-raw"}},
		{"klepto-sql -timeout 5s copy -db postgres://h/db -s", []string{"-skip-bad", "-skip-migrate"}},
		{"klepto-sql help ke", []string{"key"}},
		{"klepto-sql completion ", []string{"-h", "bash", "fish", "zsh"}},
		{"klepto-sql migrate st", []string{"status"}},
	}
	t.Run("bash", func(t *testing.T) {
		needShell(t, "bash")
		_, path := completionScript(t, "bash")
		for _, tc := range tests {
			// As bash splits the line into COMP_WORDS, colons apart.
			words := strings.Fields(strings.ReplaceAll(tc.line, ":", " : "))
			if strings.HasSuffix(tc.line, " ") {
				words = append(words, "")
			}
			cmd := exec.CommandContext(t.Context(), "bash", "-c", `source "$1"; shift; COMP_LINE=$1; COMP_POINT=${#1}; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _klepto_sql; printf '%s\n' "${COMPREPLY[@]}"`,
				"bash", path, tc.line)
			cmd.Args = append(cmd.Args, words...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%q: %v\n%s", tc.line, err, out)
			}
			if got := strings.Fields(string(out)); !sameSet(got, tc.want) {
				t.Errorf("bash completes %q with %q, want %q", tc.line, got, tc.want)
			}
		}
	})
	t.Run("fish", func(t *testing.T) {
		needShell(t, "fish")
		_, path := completionScript(t, "fish")
		for _, tc := range tests {
			if !strings.HasPrefix(tc.line[strings.LastIndex(tc.line, " ")+1:], "-") {
				// fish offers options once a dash is typed.
				tc.want = slices.DeleteFunc(slices.Clone(tc.want), func(w string) bool { return strings.HasPrefix(w, "-") })
			}
			out, err := exec.CommandContext(t.Context(), "fish", "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, path, tc.line).CombinedOutput()
			if err != nil {
				t.Fatalf("%q: %v\n%s", tc.line, err, out)
			}
			var got []string
			for line := range strings.Lines(string(out)) {
				word, _, _ := strings.Cut(strings.TrimSpace(line), "\t")
				got = append(got, word)
			}
			if !sameSet(got, tc.want) {
				t.Errorf("fish completes %q with %q, want %q", tc.line, got, tc.want)
			}
		}
	})
}

// sameSet reports whether got holds every word of want, and, unless want
// lists only some (as for the first word), nothing else.
func sameSet(got, want []string) bool {
	set := make(map[string]bool)
	for _, w := range got {
		set[w] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return len(want) < 4 || len(got) >= len(want)
}

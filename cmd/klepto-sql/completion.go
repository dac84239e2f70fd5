package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// completionCommand prints a shell completion script.
type completionCommand struct{ *env }

// shells are the shells completion writes scripts for.
var shells = []string{"bash", "zsh", "fish"}

func (c *completionCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "completion",
		args:    "bash|zsh|fish",
		need:    []string{"SHELL"},
		max:     1,
		summary: "print a shell completion script for the commands and their flags",
		text: `Completion prints a script that makes the shell complete klepto-sql's
commands, their flags, the command after help and the shell after
completion; file names elsewhere. The script is made from the commands of
this klepto-sql, so it completes what this version has. Load it in the
shell's startup file, or install it where the shell looks for completions.`,
		examples: []string{
			"klepto-sql completion bash > ~/.local/share/bash-completion/completions/klepto-sql",
			"klepto-sql completion fish > ~/.config/fish/completions/klepto-sql.fish",
			"klepto-sql completion zsh > \"${fpath[1]}/_klepto-sql\"  # a folder of $fpath, before compinit runs",
			"source <(klepto-sql completion bash)  # in ~/.bashrc; zsh too, after compinit",
		},
	}
}

func (c *completionCommand) flags(*flag.FlagSet) {}

func (c *completionCommand) Run(_ context.Context, args []string) error {
	spec, err := c.completionSpec()
	if err != nil {
		return err
	}
	switch args[0] {
	case "bash":
		return spec.bash(c.stdout)
	case "zsh":
		return spec.zsh(c.stdout)
	case "fish":
		return spec.fish(c.stdout)
	}
	return usagef("completion: unknown shell %q: want %s", args[0], strings.Join(shells, ", "))
}

// completionFlag is a flag in a completion script.
type completionFlag struct {
	name  string
	usage string // its first line
	value bool   // whether it takes a value
}

// completionCmd is a command in a completion script.
type completionCmd struct {
	name    string
	summary string
	flags   []completionFlag
	args    []string // the arguments to complete, if a fixed set
}

// completionSpec is what a completion script completes, read from the
// commands and flag sets that run uses.
type completionSpec struct {
	global []completionFlag // the flags before the command
	cmds   []completionCmd
}

// completionSpec returns the commands and flags of klepto-sql.
func (e *env) completionSpec() (*completionSpec, error) {
	plain := &env{getenv: func(string) string { return "" }}
	root, err := plain.rootFlags()
	if err != nil {
		return nil, err
	}
	spec := &completionSpec{global: flagsOf(root)}
	spec.global = append(spec.global, completionFlag{name: "h", usage: "print the help"})
	var names []string
	for _, c := range e.commands() {
		names = append(names, c.doc().name)
	}
	for _, c := range e.commands() {
		d := c.doc()
		cmd := completionCmd{name: d.name, summary: d.summary, flags: flagsOf(plain.commandFlags(c))}
		cmd.args = literalArgs(d.args)
		if d.name == "help" {
			cmd.args = names
		}
		spec.cmds = append(spec.cmds, cmd)
	}
	return spec, nil
}

// literalArgs returns the words a command takes as its first argument,
// if its synopsis args lists them, as in "up | down [N] | status" or
// "bash|zsh|fish"; otherwise nil.
func literalArgs(args string) []string {
	if !strings.Contains(args, "|") {
		return nil
	}
	var words []string
	for alt := range strings.SplitSeq(args, "|") {
		fields := strings.Fields(alt)
		if len(fields) == 0 || strings.Trim(fields[0], "abcdefghijklmnopqrstuvwxyz-") != "" {
			return nil
		}
		words = append(words, fields[0])
	}
	return words
}

// flagsOf returns the flags of fs, and -h.
func flagsOf(fs *flag.FlagSet) []completionFlag {
	var flags []completionFlag
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		usage, _, _ = strings.Cut(usage, "\n")
		usage = strings.Replace(usage, " (see below)", "", 1)
		flags = append(flags, completionFlag{name: f.Name, usage: usage, value: name != ""})
	})
	return flags
}

// valueFlags returns the names of the flags that take a value, with their
// dash, joined by sep.
func valueFlags(flags []completionFlag, sep string) string {
	var names []string
	for _, f := range flags {
		if f.value {
			names = append(names, "-"+f.name)
		}
	}
	return strings.Join(names, sep)
}

// words returns the flags of cmd, with their dash, and its fixed
// arguments.
func (cmd *completionCmd) words() []string {
	var w []string
	for _, f := range cmd.flags {
		w = append(w, "-"+f.name)
	}
	w = append(w, "-h")
	return append(w, cmd.args...)
}

// bash writes the bash script. It splits the line at spaces itself, not
// at the colons of DSNs as bash's words are.
func (s *completionSpec) bash(w io.Writer) error {
	var b strings.Builder
	b.WriteString(`# bash completion for klepto-sql, written by: klepto-sql completion bash
_klepto_sql() {
    local line=${COMP_LINE:0:COMP_POINT} cur=${COMP_WORDS[COMP_CWORD]} cmd="" i n
    local -a w
    read -r -a w <<< "$line"
    n=${#w[@]}
    [[ $line == *[[:space:]] ]] || n=$((n - 1))
    for ((i = 1; i < n; i++)); do
        case ${w[i]} in
`)
	fmt.Fprintf(&b, "            %s) i=$((i + 1)) ;;\n", valueFlags(s.global, "|"))
	b.WriteString(`            -*) ;;
            *) cmd=${w[i]}; break ;;
        esac
    done
    local words
    case $cmd in
`)
	var top []string
	for _, f := range s.global {
		top = append(top, "-"+f.name)
	}
	for _, c := range s.cmds {
		top = append(top, c.name)
	}
	fmt.Fprintf(&b, "        \"\") words=%s ;;\n", shellQuote([]string{strings.Join(top, " ")}))
	for _, c := range s.cmds {
		fmt.Fprintf(&b, "        %s) words=%s ;;\n", c.name, shellQuote([]string{strings.Join(c.words(), " ")}))
	}
	b.WriteString(`        *) return ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _klepto_sql klepto-sql
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// zshQuote returns s, a NAME:DESCRIPTION of _describe, quoted for zsh,
// with the colons of the description escaped.
func zshQuote(s string) string {
	name, desc, _ := strings.Cut(s, ":")
	return shellQuote([]string{name + ":" + strings.ReplaceAll(desc, ":", `\:`)})
}

// zsh writes the zsh script.
func (s *completionSpec) zsh(w io.Writer) error {
	var b strings.Builder
	b.WriteString(`#compdef klepto-sql
# zsh completion for klepto-sql, written by: klepto-sql completion zsh

_klepto_sql() {
    local cmd="" i
    for ((i = 2; i < CURRENT; i++)); do
        case ${words[i]} in
`)
	fmt.Fprintf(&b, "            %s) i=$((i + 1)) ;;\n", valueFlags(s.global, "|"))
	b.WriteString(`            -*) ;;
            *) cmd=${words[i]}; break ;;
        esac
    done
    local -a cmds opts
    case $cmd in
        '')
            cmds=(
`)
	for _, c := range s.cmds {
		fmt.Fprintf(&b, "                %s\n", zshQuote(c.name+":"+c.summary))
	}
	b.WriteString("            )\n            opts=(\n")
	for _, f := range s.global {
		fmt.Fprintf(&b, "                %s\n", zshQuote("-"+f.name+":"+f.usage))
	}
	b.WriteString(`            )
            _describe -t commands 'klepto-sql command' cmds
            _describe -t options 'option' opts
            ;;
`)
	for _, c := range s.cmds {
		fmt.Fprintf(&b, "        %s)\n            opts=(\n", c.name)
		for _, f := range c.flags {
			fmt.Fprintf(&b, "                %s\n", zshQuote("-"+f.name+":"+f.usage))
		}
		fmt.Fprintf(&b, "                %s\n            )\n", zshQuote("-h:print the help"))
		b.WriteString("            _describe -t options 'option' opts\n")
		if len(c.args) > 0 {
			fmt.Fprintf(&b, "            compadd -- %s\n", strings.Join(c.args, " "))
		} else {
			b.WriteString("            _files\n")
		}
		b.WriteString("            ;;\n")
	}
	b.WriteString(`    esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _klepto_sql "$@"
else
    compdef _klepto_sql klepto-sql
fi
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// fish writes the fish script.
func (s *completionSpec) fish(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# fish completion for klepto-sql, written by: klepto-sql completion fish\n")
	b.WriteString("complete -c klepto-sql -f\n")
	var names []string
	for _, c := range s.cmds {
		names = append(names, c.name)
	}
	noCmd := "not __fish_seen_subcommand_from " + strings.Join(names, " ")
	option := func(cond string, f completionFlag) {
		value := ""
		if f.value {
			value = " -r -F"
		}
		fmt.Fprintf(&b, "complete -c klepto-sql -n %s -o %s%s -d %s\n",
			shellQuote([]string{cond}), f.name, value, shellQuote([]string{f.usage}))
	}
	for _, f := range s.global {
		option(noCmd, f)
	}
	for _, c := range s.cmds {
		fmt.Fprintf(&b, "complete -c klepto-sql -n %s -a %s -d %s\n",
			shellQuote([]string{noCmd}), c.name, shellQuote([]string{c.summary}))
	}
	for _, c := range s.cmds {
		cond := "__fish_seen_subcommand_from " + c.name
		for _, f := range c.flags {
			option(cond, f)
		}
		option(cond, completionFlag{name: "h", usage: "print the help"})
		if len(c.args) > 0 {
			fmt.Fprintf(&b, "complete -c klepto-sql -n %s -a %s\n", shellQuote([]string{cond}), shellQuote([]string{strings.Join(c.args, " ")}))
		} else {
			fmt.Fprintf(&b, "complete -c klepto-sql -n %s -F\n", shellQuote([]string{cond}))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

package keymap

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parse returns the keymap that s describes, as [Keymap.String] writes it,
// such as "string", "hash(sha256)", "string typed flat round=deep/2
// ignore=[Log #1]" or "encoded(json)+hash(sha256)": Parse(k.String()) makes
// the same keys as k. Archives record String, so that a program or a
// command line can make the keys of an archive's calls from the record
// alone. It returns an error wrapping [ErrInvalidOptions] for anything
// else.
func Parse(s string) (*Keymap, error) {
	stages := strings.Split(s, "+")
	var k *Keymap
	for _, desc := range stages {
		stage, err := parseStage(desc)
		if err != nil {
			return nil, fmt.Errorf("keymap: parse %q: %w", s, err)
		}
		if k == nil {
			k = stage
		} else if k, err = Chain(k, stage); err != nil {
			return nil, err
		}
	}
	if k.String() != s {
		// Options out of order, duplicated or not in their canonical form.
		return nil, fmt.Errorf("%w: keymap: parse %q: not as Keymap.String writes it, %q", ErrInvalidOptions, s, k.String())
	}
	return k, nil
}

// parseStage returns the keymap of one stage of a description: a kind,
// then its options.
func parseStage(desc string) (*Keymap, error) {
	name, rest, _ := strings.Cut(desc, " ")
	var opts Options
	if rest != "" {
		if err := opts.parse(rest); err != nil {
			return nil, err
		}
	}
	switch {
	case name == "string":
		return NewString(&opts)
	case name == "raw":
		return NewRaw(&opts)
	case strings.HasPrefix(name, "hash(") && strings.HasSuffix(name, ")"):
		alg, err := ParseAlgorithm(name[len("hash(") : len(name)-1])
		if err != nil {
			return nil, err
		}
		return NewHash(alg, &opts)
	case strings.HasPrefix(name, "encoded(") && strings.HasSuffix(name, ")"):
		enc, err := ParseEncoding(name[len("encoded(") : len(name)-1])
		if err != nil {
			return nil, err
		}
		return NewEncoded(enc, &opts)
	}
	return nil, fmt.Errorf("%w: unknown keymap %q", ErrInvalidOptions, name)
}

// parse sets o from the options of a description, as describe writes
// them: "typed flat round=deep/2 ignore=[Log #1]".
func (o *Options) parse(s string) error {
	for s != "" {
		var word string
		if strings.HasPrefix(s, "ignore=[") {
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return fmt.Errorf("%w: unterminated ignore=[", ErrInvalidOptions)
			}
			word, s = s[:end+1], strings.TrimPrefix(s[end+1:], " ")
		} else {
			word, s, _ = strings.Cut(s, " ")
		}
		switch {
		case word == "typed":
			o.Typed = true
		case word == "flat":
			o.Flat = true
		case strings.HasPrefix(word, "round="):
			mode, tol, ok := strings.Cut(word[len("round="):], "/")
			if !ok {
				return fmt.Errorf("%w: want round=MODE/TOL, not %q", ErrInvalidOptions, word)
			}
			m, err := ParseRoundMode(mode)
			if err != nil {
				return err
			}
			if o.Tol, err = strconv.Atoi(tol); err != nil {
				return fmt.Errorf("%w: round tol %q", ErrInvalidOptions, tol)
			}
			o.Round = m
		case strings.HasPrefix(word, "ignore=["):
			for item := range strings.FieldsSeq(word[len("ignore=[") : len(word)-1]) {
				if p, ok := strings.CutPrefix(item, "#"); ok {
					n, err := strconv.Atoi(p)
					if err != nil {
						return fmt.Errorf("%w: ignored position %q", ErrInvalidOptions, item)
					}
					o.IgnorePositions = append(o.IgnorePositions, n)
				} else {
					o.Ignore = append(o.Ignore, item)
				}
			}
		default:
			return fmt.Errorf("%w: unknown option %q", ErrInvalidOptions, word)
		}
	}
	return nil
}

// CheckText returns nil if text has the form of the key texts k makes,
// and otherwise an error that says what they look like: the string keymap
// makes a parenthesized list, such as (n=30); hash keymaps as many
// lowercase hex digits as their digest has; the raw and encoded(binary)
// keymaps a binary key that [Decode] reads; encoded(json) a JSON array or
// object. It checks the form, not that some call makes text: a string key
// is not parsed beyond its parentheses.
func (k *Keymap) CheckText(text string) error {
	last := k
	if k.chain != nil {
		last = k.chain[len(k.chain)-1]
	}
	var want string
	switch last.kind {
	case KindString:
		if len(text) >= 2 && text[0] == '(' && text[len(text)-1] == ')' && utf8.ValidString(text) {
			return nil
		}
		want = "the arguments in parentheses, such as (n=30) or (1, \"a\")"
	case KindHash:
		digits := len(last.alg.appendDigest(nil, nil))
		if len(text) == digits && strings.Trim(text, "0123456789abcdef") == "" {
			return nil
		}
		want = fmt.Sprintf("%d lowercase hex digits, a %s digest", digits, last.alg)
	case KindRaw, KindEncoded:
		if _, ok := last.syn.(jsonSyntax); ok {
			if json.Valid([]byte(text)) && (strings.HasPrefix(text, "[") || strings.HasPrefix(text, "{")) {
				return nil
			}
			want = `a JSON array or object, such as {"n":30}`
			break
		}
		if _, err := Decode([]byte(text)); err == nil {
			return nil
		}
		want = "a binary key of version 1"
	}
	return fmt.Errorf("keymap: %q is not a key of keymap %s: want %s", text, k, want)
}

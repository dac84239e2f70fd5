package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"unicode"

	"github.com/klepto-sql/klepto/keymap"
)

// keyCommand prints the key of a call's arguments in an archive.
type keyCommand struct {
	*env
	db   string
	json bool
}

func (c *keyCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "key",
		args:    "NAME ARGS-JSON",
		need:    []string{"NAME", "ARGS-JSON"},
		max:     2,
		summary: "print the key text and key hash that a call's arguments have in an archive",
		text: `Key prints the key_text and key_hash (hex) that a call with the arguments
ARGS-JSON has in the archive NAME, made with the keymap its catalog records,
so that the call's row can be found: with get, or in SQL by key_hash.

ARGS-JSON is the argument of the memoized function, in JSON: an object is
an argument struct, its members the fields in declaration order, named as
the keys name them (the klepto tag, else the Go name), as in {"N": 30} for
struct{ N int }; an array is a list of positional arguments (keymap.Args);
any other value is the single argument, as in 30 for a func of an int. So
the args column of a row, for argument structs without json tags, gives
the key of the row back. Inside the arguments, objects are maps (a struct nested in the
arguments has another key text), integers are Go ints and other numbers
float64s, which matters only to typed keymaps.`,
		examples: []string{
			`klepto-sql key fib '{"N": 30}'`,
			`klepto-sql get fib "$(klepto-sql key fib '{"N": 30}' -json | jq -r .key_text)"`,
			`klepto-sql key thumbnails '["cat.png", 128]'`,
		},
	}
}

func (c *keyCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	jsonFlag(fs, &c.json)
}

// keyJSON is the output of key -json.
type keyJSON struct {
	Name    string `json:"name"`
	Keymap  string `json:"keymap"`
	KeyText string `json:"key_text"` // as the key_text column stores it
	KeyHash string `json:"key_hash"` // hex
}

func (c *keyCommand) Run(ctx context.Context, args []string) (err error) {
	name := args[0]
	call, err := parseCallArgs(args[1])
	if err != nil {
		return usagef("key: ARGS-JSON: %v", err)
	}
	a, err := c.openArchive(ctx, c.db, false)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, a) }()
	info, err := a.info(ctx, name)
	if err != nil {
		return err
	}
	km, err := keymap.Parse(info.Keymap)
	if err != nil {
		return fmt.Errorf("archive %q: %w", name, err)
	}
	key, err := km.Key(call)
	if err != nil {
		return fmt.Errorf("archive %q: key of %s: %w", name, args[1], err)
	}
	sum := sha256.Sum256([]byte(key.Text))
	out := keyJSON{Name: name, Keymap: info.Keymap, KeyText: keyText(key), KeyHash: hex.EncodeToString(sum[:])}
	if c.json {
		return writeJSON(c.stdout, out)
	}
	w := newTable(c.stdout)
	fmt.Fprintf(w, "key_text\t%s\nkey_hash\t%s\nkeymap\t%s\n", out.KeyText, out.KeyHash, out.Keymap)
	return w.Flush()
}

// parseCallArgs returns the argument of a memoized function that the
// JSON text s describes (see the help of key): for an object, a struct of
// fields of type any tagged with the object's names, in order; for an
// array, a keymap.Args of positional arguments; otherwise the value.
func parseCallArgs(s string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	v, err := jsonValue(dec, true)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// jsonValue reads one JSON value from dec; at the top, an object is a
// struct and an array a keymap.Args.
func jsonValue(dec *json.Decoder, top bool) (any, error) {
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("want a JSON value")
	}
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '[' {
			var list []any
			for dec.More() {
				v, err := jsonValue(dec, false)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			if top {
				return keymap.Args{Pos: list}, nil
			}
			return list, nil
		}
		var names []string
		var values []any
		for dec.More() {
			name, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := jsonValue(dec, false)
			if err != nil {
				return nil, err
			}
			names, values = append(names, name.(string)), append(values, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		if top {
			return argStruct(names, values)
		}
		m := make(map[string]any, len(names))
		for i, name := range names {
			m[name] = values[i]
		}
		return m, nil
	case json.Number:
		if i, err := strconv.ParseInt(string(tok), 10, 64); err == nil && i >= math.MinInt && i <= math.MaxInt {
			return int(i), nil
		}
		if u, err := strconv.ParseUint(string(tok), 10, 64); err == nil {
			return u, nil
		}
		f, err := tok.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", tok, err)
		}
		return f, nil
	}
	return tok, nil // string, bool or nil
}

// argStruct returns a struct whose fields, of type any, hold values and
// are named names in keys, in order, as the fields of an argument struct.
func argStruct(names []string, values []any) (any, error) {
	fields := make([]reflect.StructField, len(names))
	for i, name := range names {
		if !validArgName(name) {
			return nil, fmt.Errorf("invalid argument name %q: want letters, digits, _ and -", name)
		}
		fields[i] = reflect.StructField{
			Name: "F" + strconv.Itoa(i),
			Type: reflect.TypeFor[any](),
			Tag:  reflect.StructTag(`klepto:` + strconv.Quote(name)),
		}
	}
	v := reflect.New(reflect.StructOf(fields)).Elem()
	for i, x := range values {
		if x != nil {
			v.Field(i).Set(reflect.ValueOf(x))
		}
	}
	return v.Interface(), nil
}

// validArgName reports whether name can name an argument in a key (see
// keymap.NameError): it is not empty, and made of letters, digits, '_'
// and '-'.
func validArgName(name string) bool {
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' {
			return false
		}
	}
	return name != "" && name != "-"
}

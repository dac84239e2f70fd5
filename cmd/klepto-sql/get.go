package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// getCommand prints the value stored under a key.
type getCommand struct {
	*env
	db   string
	json bool
}

func (c *getCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "get",
		args:    "NAME KEY",
		need:    []string{"NAME", "KEY"},
		max:     2,
		summary: "print the value stored under a key",
		text: `Get prints the value stored under KEY in the archive NAME: the JSON of codec
json followed by a newline, and the bytes of codecs raw and gob as they are.
KEY is the key text as stored, as show and export print it. A key that is
missing or expired is an error. With -json it prints {"key":…,"value":…}, or
"value_base64" for codecs raw and gob.`,
		examples: []string{
			"klepto-sql get fib '(n=30)'",
			"klepto-sql get thumbnails '(\"cat.png\", 128)' > cat-128.png",
		},
	}
}

func (c *getCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	jsonFlag(fs, &c.json)
}

func (c *getCommand) Run(ctx context.Context, args []string) error {
	name := args[0]
	key, err := parseKey(args[1])
	if err != nil {
		return err
	}
	return c.withStored(ctx, c.db, name, func(a *archive, info sqlarchive.TableInfo, t *sqltable.Table[[]byte]) error {
		value, found, err := t.Get(ctx, key)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("archive %q has no key %q", name, args[1])
		}
		switch {
		case c.json && info.Codec == codec.JSON:
			return writeJSON(c.stdout, struct {
				Key   string          `json:"key"`
				Value json.RawMessage `json:"value"`
			}{keyText(key), value})
		case c.json:
			return writeJSON(c.stdout, struct {
				Key         string `json:"key"`
				ValueBase64 []byte `json:"value_base64"`
			}{keyText(key), value})
		case info.Codec == codec.JSON:
			_, err = fmt.Fprintf(c.stdout, "%s\n", value)
		default:
			_, err = c.stdout.Write(value)
		}
		return err
	})
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// putCommand stores a value under a key.
type putCommand struct {
	*env
	db  string
	raw bool
}

func (c *putCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "put",
		args:    "NAME KEY VALUE",
		need:    []string{"NAME", "KEY", "VALUE"},
		max:     3,
		summary: "store a value under a key",
		text: `Put stores VALUE under KEY in the archive NAME, replacing any value there.
KEY is the key text as a program's keymap makes it, such as (n=30) for the
default string keymap (klepto-sql key prints the key of given arguments).
A KEY that is not of the form of the archive's keymap, such as n=30, is
refused, unless -raw says to store it as given. VALUE - reads the value
from stdin.

For archives of codec json, VALUE must be JSON: a string needs its quotes,
as in '"hello"'. For codec raw, VALUE is stored as the bytes given. Codec
gob is refused: gob values are Go values that only Go programs can encode
(import restores them from an export). Use -- before a VALUE that starts
with '-', such as -- -1.`,
		examples: []string{
			"klepto-sql put fib '(n=10)' 55",
			"klepto-sql put users '(id=7)' '{\"name\": \"Ada\"}'",
			"klepto-sql put thumbnails '(\"cat.png\", 128)' - < cat-128.png",
			"klepto-sql put temps '(city=\"Oslo\")' -- -3.5",
			"klepto-sql put notes hand-made-key '\"hello\"' -raw",
		},
	}
}

func (c *putCommand) flags(fs *flag.FlagSet) {
	dbFlag(fs, &c.db)
	fs.BoolVar(&c.raw, "raw", false, "store KEY as given, even if it is not of the form of the keys of the archive's keymap")
}

func (c *putCommand) Run(ctx context.Context, args []string) error {
	name := args[0]
	key, err := parseKey(args[1])
	if err != nil {
		return err
	}
	value := []byte(args[2])
	if args[2] == "-" {
		if value, err = io.ReadAll(c.stdin); err != nil {
			return fmt.Errorf("read the value from stdin: %w", err)
		}
	}
	return c.withStored(ctx, c.db, name, func(a *archive, info sqlarchive.TableInfo, t *sqltable.Table[[]byte]) error {
		switch info.Codec {
		case codec.Gob:
			return fmt.Errorf("archive %q stores gob values, which only Go programs can encode; "+
				"put stores values of archives of codec json and raw (import restores exported gob entries)", name)
		case codec.JSON:
			var v any
			if err := json.Unmarshal(value, &v); err != nil {
				return fmt.Errorf("archive %q stores JSON, and VALUE is not JSON (%v); a string needs quotes, as in '\"hello\"'", name, err)
			}
		}
		if !c.raw {
			if err := checkKey(info, key); err != nil {
				return err
			}
		}
		return t.Put(ctx, key, value)
	})
}

// checkKey returns a usage error unless key has the form of the keys of
// the keymap of the archive info describes.
func checkKey(info sqlarchive.TableInfo, key keymap.Key) error {
	km, err := keymap.Parse(info.Keymap)
	if err != nil {
		return fmt.Errorf("archive %q: %w; -raw stores a key as given", info.Name, err)
	}
	if err := km.CheckText(key.Text); err != nil {
		return usagef("archive %q: %v; -raw stores a key as given", info.Name, err)
	}
	return nil
}

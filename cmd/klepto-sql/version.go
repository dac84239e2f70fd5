package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

// versionCommand prints the version of klepto-sql.
type versionCommand struct {
	*env
	json bool
}

func (c *versionCommand) doc() *commandDoc {
	return &commandDoc{
		name:    "version",
		max:     0,
		summary: "print the version of klepto-sql",
		text: `Version prints the module version klepto-sql was built from, the Go version,
the commit when the build recorded it, and the SQLite driver:
github.com/mattn/go-sqlite3 (cgo), or modernc.org/sqlite (pure Go) in a
build with CGO_ENABLED=0 or -tags modernc.`,
		examples: []string{
			"klepto-sql version",
		},
	}
}

func (c *versionCommand) flags(fs *flag.FlagSet) {
	jsonFlag(fs, &c.json)
}

// versionJSON is the output of version -json.
type versionJSON struct {
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	Revision  string `json:"revision"`
	Time      string `json:"time"`
	Modified  bool   `json:"modified"`
	// SQLite is the module of the SQLite driver: github.com/mattn/go-sqlite3,
	// or modernc.org/sqlite in builds without cgo.
	SQLite string `json:"sqlite"`
}

func (c *versionCommand) Run(context.Context, []string) error {
	v := versionJSON{Version: "unknown", SQLite: sqliteModule}
	if info, ok := debug.ReadBuildInfo(); ok {
		v.Version, v.GoVersion = info.Main.Version, info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.Time = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if c.json {
		return writeJSON(c.stdout, v)
	}
	line := "klepto-sql " + v.Version
	if v.GoVersion != "" {
		line += " " + v.GoVersion
	}
	if v.Revision != "" {
		line += " " + v.Revision
		if v.Modified {
			line += " (modified)"
		}
	}
	line += " (SQLite: " + v.SQLite + ")"
	_, err := fmt.Fprintln(c.stdout, line)
	return err
}

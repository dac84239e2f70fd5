package integration

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/klepto-sql/klepto"

// The import directions the design promises, checked on the dependencies
// (direct and indirect, tests left out) of every package of the module:
//
//   - the library works on the caller's *sql.DB: only cmd/klepto-sql, the
//     examples and the test plumbing in internal/sqltest import a database
//     driver (which would register it and, for SQLite, need cgo), or
//     golang-migrate's drivers, which import them; the one exception is an
//     adapter to one driver, which only programs using that driver import,
//     and which imports that driver only (see adapters);
//   - cache never imports database/sql: a *sqltable.Table satisfies
//     cache.Archive structurally;
//   - dialect never imports keymap or cache;
//   - codec imports only the standard library;
//   - keymap imports no other package of the module.
func TestImportDirections(t *testing.T) {
	deps := moduleDeps(t)
	for _, pkg := range []string{"cache", "codec", "dialect", "keymap", "cmd/klepto-sql"} {
		if _, ok := deps[pkg]; !ok {
			t.Fatalf("go list found no package %s", pkg)
		}
	}
	if !dependsOnDriver(deps["cmd/klepto-sql"]) {
		t.Errorf("cmd/klepto-sql links no driver the test knows: update isDriver")
	}
	for pkg, ds := range deps {
		for _, dep := range ds {
			if why := forbidden(pkg, dep); why != "" {
				t.Errorf("%s depends on %s: %s", pkg, dep, why)
			}
		}
	}
}

// adapters are the packages that adapt the library to one driver, by the
// import path prefix of that driver.
var adapters = map[string]string{
	"sqlarchive/pqlisten": "github.com/lib/pq", // LISTEN/NOTIFY with lib/pq's Listener
	"sqlarchive/pqconn":   "github.com/lib/pq", // lib/pq connections that end by their context
}

// forbidden returns why package pkg of the module (named relative to the
// module, such as "cache") must not depend on the package dep, or "".
func forbidden(pkg, dep string) string {
	driverOK := strings.HasPrefix(pkg, "cmd/") || strings.HasPrefix(pkg, "examples/") || pkg == "internal/sqltest"
	if drv, ok := adapters[pkg]; ok && (dep == drv || strings.HasPrefix(dep, drv+"/")) {
		driverOK = true
	}
	switch {
	case isDriver(dep) && !driverOK:
		return "only cmd/, tests, examples and a driver's own adapter import database drivers"
	case pkg == "cache" && dep == "database/sql":
		return "cache never imports database/sql"
	case pkg == "dialect" && (dep == module+"/keymap" || dep == module+"/cache"):
		return "dialect never imports keymap or cache"
	case pkg == "codec" && !isStandard(dep):
		return "codec imports only the standard library"
	case pkg == "keymap" && strings.HasPrefix(dep, module+"/"):
		return "keymap imports no other package of the module"
	}
	return ""
}

// isDriver reports whether the package path is a database driver, or one of
// golang-migrate's database drivers, which import them.
func isDriver(path string) bool {
	for _, drv := range []string{"github.com/mattn/", "github.com/lib/pq", "github.com/go-sql-driver/",
		"github.com/jackc/", "modernc.org/", "github.com/golang-migrate/migrate/v4/database/"} {
		if strings.HasPrefix(path, drv) {
			return true
		}
	}
	return false
}

func dependsOnDriver(deps []string) bool {
	for _, dep := range deps {
		if isDriver(dep) {
			return true
		}
	}
	return false
}

// isStandard reports whether path is a standard library package: its first
// element has no dot.
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// moduleDeps returns the dependencies of each package of the module, keyed
// by its path relative to the module.
func moduleDeps(t *testing.T) map[string][]string {
	t.Helper()
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to list dependencies: %v", err)
	}
	out, err := exec.CommandContext(t.Context(), gotool, "list",
		"-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list %s/...: %v", module, err)
	}
	deps := make(map[string][]string)
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		deps[pkg] = fields[1:]
	}
	return deps
}

// The rules of TestImportDirections catch what they should, and only that.
func TestForbidden(t *testing.T) {
	tests := []struct {
		pkg, dep string
		bad      bool
	}{
		{"sqltable", "github.com/mattn/go-sqlite3", true},
		{"migrations", "github.com/golang-migrate/migrate/v4/database/postgres", true},
		{"migrations", "github.com/golang-migrate/migrate/v4/database", false},
		{"cmd/klepto-sql", "github.com/lib/pq", false},
		{"examples/quickstart", "github.com/mattn/go-sqlite3", false},
		{"internal/sqltest", "github.com/go-sql-driver/mysql", false},
		{"sqlarchive/pqlisten", "github.com/lib/pq/scram", false},
		{"sqlarchive/pqlisten", "github.com/go-sql-driver/mysql", true},
		{"sqlarchive", "github.com/lib/pq", true},
		{"cache", "database/sql", true},
		{"sqltable", "database/sql", false},
		{"dialect", module + "/keymap", true},
		{"dialect", module + "/cache", true},
		{"dialect", module + "/codec", false},
		{"codec", "github.com/zeebo/xxh3", true},
		{"codec", module + "/keymap", true},
		{"codec", "encoding/json", false},
		{"codec", "vendor/golang.org/x/text/unicode/norm", false},
		{"keymap", module + "/codec", true},
		{"keymap", "github.com/zeebo/xxh3", false},
	}
	for _, tc := range tests {
		if why := forbidden(tc.pkg, tc.dep); (why != "") != tc.bad {
			t.Errorf("forbidden(%q, %q) = %q, want forbidden %v", tc.pkg, tc.dep, why, tc.bad)
		}
	}
}

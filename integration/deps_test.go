package integration

import (
	"os/exec"
	"strings"
	"testing"
)

// The library works on the caller's *sql.DB: no library package imports a
// database driver (which would register it and, for SQLite, need cgo), or
// golang-migrate's drivers, which import them. Only cmd/klepto-sql, the
// examples and tests do.
func TestLibraryImportsNoDriver(t *testing.T) {
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to list dependencies: %v", err)
	}
	libs := []string{"keymap", "cache", "archive", "dialect", "sqltable", "sqlarchive", "migrations"}
	for _, lib := range libs {
		out, err := exec.CommandContext(t.Context(), gotool, "list", "-deps", "github.com/klepto-sql/klepto/"+lib).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", lib, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			for _, drv := range []string{"github.com/mattn/", "github.com/lib/pq", "github.com/go-sql-driver/",
				"github.com/jackc/", "modernc.org/", "github.com/golang-migrate/migrate/v4/database/"} {
				if strings.HasPrefix(pkg, drv) {
					t.Errorf("package %s depends on %s", lib, pkg)
				}
			}
		}
	}
}

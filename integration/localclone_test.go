package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Until the module is published, a program uses it from a clone with a
// replace directive, as the README shows: go mod edit -replace, then go
// mod tidy, which requires the module at the zero pseudo-version. The
// dependencies come from the module cache (GOPROXY=off), as this test's
// own did, and their checksums from the clone's go.sum, so that tidy need
// not ask the checksum database, which a machine offline cannot reach.
func TestLocalClone(t *testing.T) {
	root, err := exec.CommandContext(t.Context(), "go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", module, err)
	}
	app := t.TempDir()
	const program = `package main

import (
	"fmt"

	"github.com/klepto-sql/klepto/keymap"
	_ "github.com/klepto-sql/klepto/sqlarchive"
)

func main() {
	k, err := keymap.NewString(nil)
	if err != nil {
		panic(err)
	}
	key, err := k.Key(struct{ N int }{30})
	if err != nil {
		panic(err)
	}
	fmt.Println(key.Text)
}
`
	if err := os.WriteFile(filepath.Join(app, "main.go"), []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	sums, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "go.sum"), sums, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
	for _, args := range [][]string{
		{"mod", "init", "example.com/app"},
		{"mod", "edit", "-replace=" + module + "=" + strings.TrimSpace(string(root))},
		{"mod", "tidy"},
	} {
		cmd := exec.CommandContext(t.Context(), "go", args...)
		cmd.Dir, cmd.Env = app, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cmd := exec.CommandContext(t.Context(), "go", "run", ".")
	cmd.Dir, cmd.Env = app, env
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "(N=30)\n" {
		t.Fatalf("go run of a program using the clone: %v\n%s", err, out)
	}
}

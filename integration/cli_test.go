package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// cli is the klepto-sql command, built once per run of the tests.
var cli struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// kleptoSQL returns the path of the klepto-sql command, built with go build
// the first time a test asks for it.
func kleptoSQL(t testing.TB) string {
	t.Helper()
	cli.once.Do(func() {
		gotool, err := exec.LookPath("go")
		if err != nil {
			cli.err = err
			return
		}
		if cli.dir, cli.err = os.MkdirTemp("", "klepto-sql-cli-"); cli.err != nil {
			return
		}
		cli.path = filepath.Join(cli.dir, "klepto-sql")
		cmd := exec.Command(gotool, "build", "-o", cli.path, "github.com/klepto-sql/klepto/cmd/klepto-sql")
		cli.out, cli.err = cmd.CombinedOutput()
	})
	if cli.err != nil {
		t.Fatalf("go build cmd/klepto-sql: %v\n%s", cli.err, cli.out)
	}
	return cli.path
}

// removeCLI removes the command built by kleptoSQL, if any.
func removeCLI() {
	if cli.dir != "" {
		os.RemoveAll(cli.dir)
	}
}

// cliDSN returns the -db value that names db for klepto-sql.
func cliDSN(db sqltest.Database) string {
	switch db.Dialect {
	case dialect.SQLite:
		return "sqlite:" + db.Name
	case dialect.MySQL:
		return "mysql:" + db.DSN
	}
	return db.DSN // a lib/pq URL, with the schema as its search_path
}

// runCLI runs klepto-sql with args and -db naming db, fails the test if it
// fails, and returns its output and when it exited.
func runCLI(t testing.TB, db sqltest.Database, args ...string) (string, time.Time) {
	t.Helper()
	stdout, stderr, exited, err := cliRun(t, db, args...)
	if err != nil {
		t.Fatalf("klepto-sql %v: %v\n%s%s", args, err, stdout, stderr)
	}
	return stdout, exited
}

// runCLIErr runs klepto-sql as runCLI does, and returns its output, stdout
// then stderr, and its error.
func runCLIErr(t testing.TB, db sqltest.Database, args ...string) (string, error) {
	t.Helper()
	stdout, stderr, _, err := cliRun(t, db, args...)
	return stdout + stderr, err
}

func cliRun(t testing.TB, db sqltest.Database, args ...string) (stdout, stderr string, exited time.Time, err error) {
	t.Helper()
	// Flags go before the command's arguments: klepto-sql put -db DSN NAME KEY VALUE.
	full := append([]string{args[0], "-db", cliDSN(db)}, args[1:]...)
	cmd := exec.CommandContext(t.Context(), kleptoSQL(t), full...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), time.Now(), err
}

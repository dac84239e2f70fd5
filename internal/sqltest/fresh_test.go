package sqltest_test

import (
	"database/sql"
	"testing"

	"github.com/klepto-sql/klepto/internal/sqltest"
)

// A second pool opened from a Fresh database's DSN, as another process
// would, sees the first pool's tables.
func TestFreshDSN(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			fresh := sqltest.Fresh(t, d)
			if _, err := fresh.DB.ExecContext(t.Context(), "CREATE TABLE shared_probe (n INTEGER)"); err != nil {
				t.Fatal(err)
			}
			other, err := sql.Open(fresh.Driver, fresh.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			ok, err := d.TableExists(t.Context(), other, "shared_probe")
			if err != nil || !ok {
				t.Fatalf("TableExists through the DSN = %v, %v; want true", ok, err)
			}
		})
	}
}

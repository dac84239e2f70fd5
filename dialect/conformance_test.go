package dialect_test

import (
	"database/sql"
	"testing"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/dialect/dialecttest"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

func TestConformance(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		dialecttest.Run(t, db, d)
	})
}

package sqltable_test

import (
	"testing"

	"github.com/klepto-sql/klepto/archive/archivetest"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqltable"
)

// A Table on one node of a MariaDB Galera cluster (KLEPTO_TEST_GALERA_DSNS)
// passes the archive conformance suite, in each codec.
func TestGaleraArchive(t *testing.T) {
	db := sqltest.GaleraNode(t, 0).DB
	d := dialect.MySQL
	t.Run("json", func(t *testing.T) {
		archivetest.Run(t, func(t *testing.T) cache.Archive[point] {
			return open[point](t, db, d, nil)
		}, pointValue)
	})
	t.Run("gob", func(t *testing.T) {
		archivetest.Run(t, func(t *testing.T) cache.Archive[point] {
			return open[point](t, db, d, &sqltable.Options{Codec: codec.Gob})
		}, pointValue)
	})
	t.Run("raw", func(t *testing.T) {
		archivetest.Run(t, func(t *testing.T) cache.Archive[[]byte] {
			return open[[]byte](t, db, d, &sqltable.Options{Codec: codec.Raw})
		}, bytesValue)
	})
}

package sqlarchive_test

import (
	"context"
	"database/sql"
	"log"
	"time"

	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqlarchive/pqconn"
)

// The pool of a service on PostgreSQL through lib/pq, bounded in
// connections and in time (see "Timeouts and pools" in the package
// documentation).
func ExampleOpen_timeoutsAndPools() {
	ctx := context.Background()
	c, err := pqconn.NewConnector("postgres://app@db.internal/app?connect_timeout=1", nil)
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	db.SetMaxOpenConns(20) // per process: the server's max_connections, shared by all
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(time.Minute)

	a, err := sqlarchive.Open(ctx, db, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
}

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

// An Archive on a PostgreSQL primary that reads from a hot standby (see
// "Read replicas" in the package documentation): keys are read from the
// standby, and from the primary when the standby lacks them; every write
// goes to the primary.
func ExampleOpen_readReplica() {
	ctx := context.Background()
	primary, err := sql.Open("postgres", "postgres://app@db-primary.internal/app")
	if err != nil {
		log.Fatal(err)
	}
	defer primary.Close()
	replica, err := sql.Open("postgres", "postgres://app@db-replica.internal/app")
	if err != nil {
		log.Fatal(err)
	}
	defer replica.Close()

	a, err := sqlarchive.Open(ctx, primary, &sqlarchive.Options{ReadDB: replica})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
}

package sqlarchive

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/migrations"
)

// idStride returns the step between the ids that one server assigns to
// the change feed: on MySQL and MariaDB, auto_increment_increment, which a
// MariaDB Galera cluster sets to the number of its nodes (each node takes
// the ids of its own auto_increment_offset), and 1 elsewhere.
//
// On Galera, a node that writes alone leaves stride-1 ids unused after
// each of its changes, those of the other nodes' auto_increment_offset:
// the follower awaits the ids of each class (id % stride) apart, so that
// they are not missing ids (see follower.apply).
func idStride(ctx context.Context, db *sql.DB, d *dialect.Dialect) (int64, error) {
	if d != dialect.MySQL {
		return 1, nil
	}
	var stride sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT @@auto_increment_increment`).Scan(&stride); err != nil {
		return 0, fmt.Errorf("sqlarchive: follow the change feed: read auto_increment_increment: %w", err)
	}
	return max(stride.Int64, 1), nil
}

// catchUp waits, on a node of a MariaDB Galera cluster, until the node has
// applied every write that the cluster committed before now: one read of
// a table, klepto_schema_migrations, under wsrep_sync_wait = 1 (for that
// statement alone, with SET STATEMENT). The wait applies to reads of
// tables, so the statement reads one; it waits also when the table is
// missing (not migrated yet), which the caller finds out next.
// Galera applies the writes of other nodes after they commit there, so a
// node that lags would show the migrations that a deployment step just
// applied through another node as missing. It does nothing on other
// servers, and on servers other than MySQL and MariaDB.
func catchUp(ctx context.Context, db *sql.DB, d *dialect.Dialect) error {
	if galera, err := d.IsGalera(ctx, db); !galera || err != nil {
		return err
	}
	var n int
	if err := db.QueryRowContext(ctx, `SET STATEMENT wsrep_sync_wait = 1 FOR SELECT COUNT(*) FROM `+
		d.QuoteIdent(migrations.MigrationsTable)).Scan(&n); err != nil && !dialect.IsMissingTable(err) {
		return fmt.Errorf("wait for the Galera node to catch up with its cluster: %w", err)
	}
	return nil
}

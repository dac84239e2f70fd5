package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// syncGalera makes the reads of conn, on a node of a MariaDB Galera
// cluster, wait until the node has applied every write that the cluster
// committed before them (wsrep_sync_wait = 1). Galera applies the writes
// of other nodes after they commit there, so without it a node that lags
// shows a migration that another node applied as under way, or not at all,
// and Up would report a dirty database, or apply it again. It does nothing
// on servers without Galera; the connection is discarded after the run.
func syncGalera(ctx context.Context, conn *sql.Conn) error {
	var name, value string
	err := conn.QueryRowContext(ctx, `SHOW VARIABLES LIKE 'wsrep_on'`).Scan(&name, &value)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil // MySQL, or MariaDB built without Galera
	case err != nil:
		return fmt.Errorf("find whether the server is a Galera node: %w", err)
	case value != "ON":
		return nil
	}
	if _, err := conn.ExecContext(ctx, `SET SESSION wsrep_sync_wait = 1`); err != nil {
		return fmt.Errorf("set wsrep_sync_wait: %w", err)
	}
	return nil
}

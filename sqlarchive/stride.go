package sqlarchive

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/klepto-sql/klepto/dialect"
)

// idStride returns the step between the ids that one server assigns to
// the change feed: on MySQL and MariaDB, auto_increment_increment, which a
// MariaDB Galera cluster sets to the number of its nodes (each node takes
// the ids of its own auto_increment_offset), and 1 elsewhere.
//
// On Galera, a node that writes alone leaves stride-1 ids unused after
// each of its changes, which a follower sees as missing: it tracks
// maxGaps × stride missing ids before it gives up and drops its memory.
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

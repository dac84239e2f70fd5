package dialect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// IsGalera reports whether the server of q is a node of a MariaDB Galera
// cluster: a MySQL-dialect server whose wsrep_on is ON. It reports false
// without a query for other dialects, and for MySQL and MariaDB builds
// without Galera (no wsrep_on variable).
func (d *Dialect) IsGalera(ctx context.Context, q Querier) (bool, error) {
	if d.kind != mysql {
		return false, nil
	}
	var name, value string
	err := q.QueryRowContext(ctx, `SHOW VARIABLES LIKE 'wsrep_on'`).Scan(&name, &value)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("find whether the server is a Galera node: %w", err)
	}
	return value == "ON", nil
}

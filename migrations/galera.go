package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/klepto-sql/klepto/dialect"
)

// GaleraLockTable holds the migration lock of a MariaDB Galera cluster: a
// row, keyed by the lock name, while a run holds the lock. It is created
// by the first run on a Galera node, and never on other servers.
const GaleraLockTable = MigrationsTable + "_lock"

// galeraLockTTL is how long the Galera migration lock lasts: a run that
// dies holding it holds the others up no longer. klepto's migrations take
// milliseconds on its small tables.
const galeraLockTTL = 2 * time.Minute

// syncGalera readies conn on a node of a MariaDB Galera cluster, and
// reports whether it is one. Its reads wait until the node has applied
// every write that the cluster committed before them (wsrep_sync_wait =
// 1): Galera applies the writes of other nodes after they commit there, so
// without it a node that lags shows a migration that another node applied
// as under way, or not at all. And it creates GaleraLockTable if missing:
// GET_LOCK holds only on its node, so the lock of a run is a row of that
// table too (see [connDriver.galeraLock]). On servers without Galera it does
// nothing; the connection is discarded after the run.
func syncGalera(ctx context.Context, d *dialect.Dialect, conn *sql.Conn) (bool, error) {
	var name, value string
	err := conn.QueryRowContext(ctx, `SHOW VARIABLES LIKE 'wsrep_on'`).Scan(&name, &value)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil // MySQL, or MariaDB built without Galera
	case err != nil:
		return false, fmt.Errorf("find whether the server is a Galera node: %w", err)
	case value != "ON":
		return false, nil
	}
	if _, err := conn.ExecContext(ctx, `SET SESSION wsrep_sync_wait = 1`); err != nil {
		return true, fmt.Errorf("set wsrep_sync_wait: %w", err)
	}
	if ok, err := d.TableExists(ctx, conn, GaleraLockTable); ok || err != nil {
		return true, err
	}
	_, err = conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+d.QuoteIdent(GaleraLockTable)+
		` (lock_id varchar(64) NOT NULL PRIMARY KEY, holder varchar(255) NOT NULL, expires_at datetime(6) NOT NULL)`)
	if err != nil {
		return true, fmt.Errorf("create %s: %w", GaleraLockTable, err)
	}
	return true, nil
}

// galeraHolder returns a name for the holder of a Galera lock, unique
// across processes and hosts.
func galeraHolder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%016x", host, os.Getpid(), rand.Uint64())
}

// galeraLock takes the migration lock of the cluster, after GET_LOCK took
// it on this node: it inserts the lock's row, which Galera's certification
// lets one node do at a time (a node that loses reports a deadlock, 1213;
// a node that sees the row, a duplicate key, 1062), and takes over a row
// that expired. It waits at most drv.wait.
func (drv *connDriver) galeraLock(ctx context.Context) error {
	c := drv.d.QuoteIdent
	insert := `INSERT INTO ` + c(GaleraLockTable) + ` (lock_id, holder, expires_at) VALUES (?, ?, NOW(6) + INTERVAL ? MICROSECOND)`
	expired := `DELETE FROM ` + c(GaleraLockTable) + ` WHERE lock_id = ? AND expires_at < NOW(6)`
	deadline := time.Now().Add(drv.wait)
	for {
		_, err := drv.conn.ExecContext(ctx, insert, drv.lockID, drv.holder, galeraLockTTL.Microseconds())
		switch {
		case err == nil:
			return nil
		case dialect.IsUniqueViolation(err):
			if _, err := drv.conn.ExecContext(ctx, expired, drv.lockID); err != nil && !dialect.IsDeadlock(err) {
				return fmt.Errorf("take the migration lock: %w", err)
			}
		case !dialect.IsDeadlock(err):
			return fmt.Errorf("take the migration lock: %w", err)
		}
		if !time.Now().Before(deadline) {
			return &lockError{fmt.Errorf("the Galera migration lock (%s) is still held after %v", GaleraLockTable, drv.wait)}
		}
		time.Sleep(20*time.Millisecond + rand.N(30*time.Millisecond))
	}
}

// galeraUnlock deletes the row of galeraLock.
func (drv *connDriver) galeraUnlock(ctx context.Context) error {
	query := `DELETE FROM ` + drv.d.QuoteIdent(GaleraLockTable) + ` WHERE lock_id = ? AND holder = ?`
	for n := 0; ; n++ {
		_, err := drv.conn.ExecContext(ctx, query, drv.lockID, drv.holder)
		if err == nil || n >= 20 || !dialect.IsDeadlock(err) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

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

// galeraLockTTL is how long the Galera migration lock lasts unless
// renewed: a run that dies holding it holds the others up no longer. A run
// renews it every galeraLockTTL/4 while it holds it, and before it records
// each version.
const galeraLockTTL = 2 * time.Minute

// galeraRetries is how many times the statements that renew and delete
// the Galera lock row run again after a deadlock (a lost certification).
const galeraRetries = 20

// errGaleraLockLost is the error of a run whose Galera lock row was taken
// over or deleted (it could not renew it in time).
var errGaleraLockLost = errors.New("the Galera migration lock was lost: its row expired and another run took it over")

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
	if galera, err := d.IsGalera(ctx, conn); !galera || err != nil {
		return false, err
	}
	if _, err := conn.ExecContext(ctx, `SET SESSION wsrep_sync_wait = 1`); err != nil {
		return true, fmt.Errorf("set wsrep_sync_wait: %w", err)
	}
	if ok, err := d.TableExists(ctx, conn, GaleraLockTable); ok || err != nil {
		return true, err
	}
	_, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+d.QuoteIdent(GaleraLockTable)+
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
		_, err := drv.conn.ExecContext(ctx, insert, drv.lockID, drv.holder, drv.ttl.Microseconds())
		switch {
		case err == nil:
			drv.startRenewal()
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
		if err := dialect.Sleep(ctx, 20*time.Millisecond+rand.N(30*time.Millisecond)); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
	}
}

// renewGaleraLock moves the expiry of the lock row of galeraLock to
// drv.ttl from now, on q, and returns errGaleraLockLost if the row is no
// longer this run's.
func (drv *connDriver) renewGaleraLock(ctx context.Context, q dialect.Querier) error {
	query := `UPDATE ` + drv.d.QuoteIdent(GaleraLockTable) +
		` SET expires_at = NOW(6) + INTERVAL ? MICROSECOND WHERE lock_id = ? AND holder = ?`
	var res sql.Result
	err := drv.d.RetryConflict(ctx, galeraRetries, func() (err error) {
		res, err = q.ExecContext(ctx, query, drv.ttl.Microseconds(), drv.lockID, drv.holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("renew the Galera migration lock: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(errGaleraLockLost, err)
	}
	return nil
}

// startRenewal starts the goroutine that renews the lock row every
// drv.ttl/4 until galeraUnlock, on a connection of the pool: drv.conn may
// be busy with a migration that waits for a table's lock. Its failures are
// left to the renewal of SetVersion, which stops the run.
func (drv *connDriver) startRenewal() {
	ctx, cancel := context.WithCancel(context.WithoutCancel(drv.ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(drv.ttl / 4)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = drv.renewGaleraLock(ctx, drv.db)
			}
		}
	}()
	stop := func() { cancel(); <-done }
	drv.stopRenewal.Store(&stop)
}

// galeraUnlock stops the renewal of the lock row and deletes it.
func (drv *connDriver) galeraUnlock(ctx context.Context) error {
	if stop := drv.stopRenewal.Swap(nil); stop != nil {
		(*stop)()
	}
	query := `DELETE FROM ` + drv.d.QuoteIdent(GaleraLockTable) + ` WHERE lock_id = ? AND holder = ?`
	return drv.d.RetryConflict(ctx, galeraRetries, func() error {
		_, err := drv.conn.ExecContext(ctx, query, drv.lockID, drv.holder)
		return err
	})
}

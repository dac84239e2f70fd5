package migrations

import (
	"errors"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/internal/sqltest"
)

// A run holding the Galera migration lock longer than its lock row lasts
// (galeraLockTTL, 1 s here) renews the row: a run through another node
// still waits for it, and gives up with ErrLocked. A run whose row was
// taken away stops at its next SetVersion rather than migrate beside
// another.
func TestGaleraLockRenewed(t *testing.T) {
	nodes := sqltest.Galera(t)
	ctx := t.Context()
	first, err := openDriver(ctx, nodes[0].DB, nodes[0].Dialect, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if first.holder == "" {
		t.Fatal("openDriver did not find a Galera node")
	}
	first.ttl = time.Second
	if err := first.Lock(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * first.ttl) // the row would have expired twice
	second, err := openDriver(ctx, nodes[1].DB, nodes[1].Dialect, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := second.Lock(); !errors.Is(err, ErrLocked) {
		if err == nil {
			_ = second.Unlock()
		}
		t.Fatalf("Lock through node 2 while node 1's run holds the lock past its TTL: %v, want ErrLocked", err)
	}
	if err := first.SetVersion(1, true); err != nil {
		t.Fatalf("SetVersion while holding the lock: %v", err)
	}
	if _, err := nodes[1].DB.ExecContext(ctx, "DELETE FROM "+GaleraLockTable); err != nil {
		t.Fatal(err)
	}
	if err := first.SetVersion(1, false); !errors.Is(err, errGaleraLockLost) {
		t.Fatalf("SetVersion after the lock row was deleted: %v, want errGaleraLockLost", err)
	}
	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
}

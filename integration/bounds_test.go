package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqltable"
)

// fill stores count keys from first on, negative values, through one
// table of the archive opened as the catalog describes it.
func (s *server) fill(ctx context.Context, first, count int) error {
	t, err := sqlarchive.Table[int](ctx, s.a, s.cfg.Archive, nil)
	if err != nil {
		return err
	}
	for n := first; n < first+count; n++ {
		key, err := s.m.Key(sqArgs{n})
		if err != nil {
			return err
		}
		if err := t.Put(ctx, key, -n); err != nil {
			return err
		}
	}
	return t.Close()
}

// Four processes write 20,000 distinct keys into an archive bounded to
// 1,000 entries (or 20,000 bytes): the table never holds more than the
// bound plus one batch, and ends within that. Alter then lowers the bound and the next write enforces it.
func TestBoundsProcesses(t *testing.T) {
	const (
		procs   = 4
		perProc = 5000
	)
	for _, d := range sqltest.Dialects() {
		for _, bytes := range []bool{false, true} {
			name := "entries"
			bounds := sqltable.Bounds{MaxEntries: 1000}
			if bytes {
				name, bounds = "bytes", sqltable.Bounds{MaxBytes: 20000}
			}
			t.Run(d.Name()+"/"+name, func(t *testing.T) {
				db := sqltest.Fresh(t, d)
				ctx := t.Context()
				a, err := sqlarchive.Open(ctx, db.DB, &sqlarchive.Options{Dialect: d})
				if err != nil {
					t.Fatal(err)
				}
				defer a.Close()
				opts := &sqlarchive.TableOptions{MaxEntries: &bounds.MaxEntries, MaxBytes: &bounds.MaxBytes}
				tbl, err := sqlarchive.Table[int](ctx, a, "sq", opts)
				if err != nil {
					t.Fatal(err)
				}
				batchRows, batchBytes := bounds.EvictBatch()
				measure := func() (rows, size int64) {
					t.Helper()
					q := "SELECT COUNT(*), COALESCE(SUM(" + d.QuoteIdent("size_bytes") + "), 0) FROM " + d.QuoteIdent(tbl.Name())
					if err := db.DB.QueryRowContext(ctx, q).Scan(&rows, &size); err != nil {
						t.Fatal(err)
					}
					return rows, size
				}
				over := func(rows, size int64) bool {
					if bytes {
						return size > bounds.MaxBytes+batchBytes
					}
					return rows > bounds.MaxEntries+batchRows
				}

				servers := make([]serveConfig, procs)
				for i := range servers {
					servers[i] = serveConfigOf(db, "sq")
				}
				started := startServers(t, servers...)
				var wg sync.WaitGroup
				done := make(chan struct{})
				var maxRows, maxSize int64
				var samples int
				wg.Go(func() {
					for {
						select {
						case <-done:
							return
						default:
						}
						rows, size := measure()
						maxRows, maxSize = max(maxRows, rows), max(maxSize, size)
						samples++
						time.Sleep(time.Millisecond)
					}
				})
				var pending []*pendingReply
				for i, s := range started {
					pending = append(pending, s.send(request{Op: "fill", N: i * perProc, Value: perProc}))
				}
				for _, p := range pending {
					if r := p.wait(); r.Err != "" {
						t.Errorf("fill: %s", r.Err)
					}
				}
				close(done)
				wg.Wait()
				rows, size := measure()
				t.Logf("%d samples: at most %d rows, %d bytes; at the end %d rows, %d bytes (bound %+v, batch %d rows, %d bytes)",
					samples, maxRows, maxSize, rows, size, bounds, batchRows, batchBytes)
				if over(maxRows, maxSize) {
					t.Errorf("the table held %d rows, %d bytes, over the bound plus one batch", maxRows, maxSize)
				}
				if over(rows, size) {
					t.Errorf("the table ends with %d rows, %d bytes, over the bound plus one batch", rows, size)
				}
				// Alter lowers the bound: the next write of a process that
				// opens the archive enforces it.
				lower := sqlarchive.AlterOptions{MaxEntries: new(int64(300))}
				if bytes {
					lower = sqlarchive.AlterOptions{MaxBytes: new(int64(6000))}
				}
				if _, err := a.Alter(ctx, "sq", lower); err != nil {
					t.Fatal(err)
				}
				started[0].must(request{Op: "fill", N: procs * perProc, Value: 1})
				rows, size = measure()
				if bytes && size > 6000 || !bytes && rows > 300 {
					t.Errorf("after alter and one write: %d rows, %d bytes", rows, size)
				}
			})
		}
	}
}

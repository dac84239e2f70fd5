// Command httpservice is a net/http service that memoizes an expensive
// computation, counting the primes below n, into a database shared by every
// copy of the service, and exposes Prometheus metrics of its memo at
// /metrics. Run two copies on two ports: what one computes, the other
// serves from the database without computing (see README.md).
//
//	go build . && { ./httpservice -addr :8080 & ./httpservice -addr :8081 & }
//	curl 'localhost:8080/primes?n=30000000'; curl 'localhost:8081/primes?n=30000000'; curl -s localhost:8081/metrics | grep klepto_events
//
// By default the copies share the SQLite file httpservice.db; -dsn
// postgres://… shares a PostgreSQL database instead (through the pgx
// driver).
//
// It is a module of its own; until the klepto modules are published, its
// go.mod finds klepto and metrics/kleptoprom in this clone of the
// repository (replace ../..), as klepto's README says.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mattn/go-sqlite3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/metrics/kleptoprom"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// maxN bounds n, so that a request cannot take the memory of the sieve.
const maxN = 100_000_000

func main() {
	addr := flag.String("addr", ":8080", "the `address` to listen on")
	dsn := flag.String("dsn", "", "a PostgreSQL `DSN` (postgres://…) to share; default: the SQLite file httpservice.db")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, *addr, *dsn, log); err != nil {
		log.Error("httpservice", "err", err)
		os.Exit(1)
	}
}

// run serves on addr until ctx ends.
func run(ctx context.Context, addr, dsn string, log *slog.Logger) error {
	db, driver, err := openDB(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := newService(ctx, db, addr, log)
	if err != nil {
		return err
	}
	defer s.Close()
	srv := &http.Server{Addr: addr, Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("serving", "addr", addr, "driver", driver)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openDB opens the PostgreSQL database of dsn, through pgx, or the SQLite
// file httpservice.db when dsn is empty, and returns the driver's name.
func openDB(dsn string) (*sql.DB, string, error) {
	driver, source := "sqlite3", dialect.SQLiteDSN("httpservice.db")
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		driver, source = "pgx", dsn
	} else if dsn != "" {
		return nil, "", fmt.Errorf("-dsn %q: want postgres://…", dsn)
	}
	db, err := sql.Open(driver, source)
	return db, driver, err
}

// service answers /primes from a memo shared through the database, and
// /metrics with the memo's metrics.
type service struct {
	name     string
	archive  *sqlarchive.Archive
	primes   *cache.Memo[int, int]
	mux      *http.ServeMux
	computed atomic.Int64 // runs of countPrimes by this service
}

// computedKey marks the context of a request, so that the request that
// runs countPrimes can say so.
type computedKey struct{}

// newService opens the archive of db and memoizes countPrimes into it. name
// tells the copies apart in responses. Close closes the archive, not db.
func newService(ctx context.Context, db *sql.DB, name string, log *slog.Logger) (*service, error) {
	metrics, err := kleptoprom.New(nil)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(metrics); err != nil {
		return nil, err
	}
	a, err := sqlarchive.Open(ctx, db, &sqlarchive.Options{Observer: metrics, Logger: log})
	if err != nil {
		return nil, err
	}
	s := &service{name: name, archive: a, mux: http.NewServeMux()}
	// Safe: if the database fails, the service computes rather than fails,
	// and the Logger says why.
	s.primes, err = sqlarchive.Memoize(ctx, a, "primes", func(ctx context.Context, n int) (int, error) {
		s.computed.Add(1)
		if p, ok := ctx.Value(computedKey{}).(*bool); ok {
			*p = true
		}
		return countPrimes(ctx, n)
	}, &sqlarchive.MemoizeOptions[int]{Memo: cache.MemoOptions[int]{Safe: true}})
	if err != nil {
		return nil, errors.Join(err, a.Close())
	}
	s.mux.HandleFunc("GET /primes", s.servePrimes)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return s, nil
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close closes the archive.
func (s *service) Close() error { return s.archive.Close() }

// primesResponse is the JSON answer of /primes.
type primesResponse struct {
	N        int     `json:"n"`
	Primes   int     `json:"primes"`   // the number of primes below N
	Computed bool    `json:"computed"` // this request ran the computation
	Instance string  `json:"instance"` // the service that answered
	Millis   float64 `json:"took_ms"`  // the time the answer took
}

func (s *service) servePrimes(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n < 0 || n > maxN {
		http.Error(w, fmt.Sprintf("n must be an integer from 0 to %d", maxN), http.StatusBadRequest)
		return
	}
	start := time.Now()
	var computed bool
	count, err := s.primes.Call(context.WithValue(r.Context(), computedKey{}, &computed), n)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(primesResponse{
		N: n, Primes: count, Computed: computed, Instance: s.name,
		Millis: float64(time.Since(start).Microseconds()) / 1000,
	})
}

// countPrimes returns the number of primes below n, by the sieve of
// Eratosthenes: the expensive computation.
func countPrimes(ctx context.Context, n int) (int, error) {
	if n < 3 {
		return 0, nil
	}
	composite := make([]bool, n)
	count := 0
	for i := 2; i < n; i++ {
		if i%(1<<16) == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if composite[i] {
			continue
		}
		count++
		for j := i * i; j < n; j += i {
			composite[j] = true
		}
	}
	return count, nil
}

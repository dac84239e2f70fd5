package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/dialect"
)

// start serves a service over its own pool on the SQLite file at path, as
// a copy of the service in a process of its own would.
func start(t *testing.T, path, name string) (*service, *httptest.Server) {
	t.Helper()
	db, err := sql.Open("sqlite3", dialect.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, db, name)
}

// serve serves a service over db, which it closes when the test ends.
func serve(t *testing.T, db *sql.DB, name string) (*service, *httptest.Server) {
	t.Helper()
	t.Cleanup(func() { db.Close() })
	s, err := newService(t.Context(), db, name, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, srv
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return string(body)
}

func primes(t *testing.T, srv *httptest.Server, n string) primesResponse {
	t.Helper()
	var r primesResponse
	if err := json.Unmarshal([]byte(get(t, srv.URL+"/primes?n="+n)), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// Two copies of the service over one SQLite file: what the first computes,
// the second serves from the database without computing, and its /metrics
// shows the load; the first's shows the miss.
func TestTwoInstancesShare(t *testing.T) {
	path := filepath.Join(t.TempDir(), "httpservice.db")
	a, srvA := start(t, path, "A")
	b, srvB := start(t, path, "B")

	first := primes(t, srvA, "1000000")
	if !first.Computed || first.Primes != 78498 || first.Instance != "A" {
		t.Fatalf("first answer %+v, want 78498 primes computed by A", first)
	}
	second := primes(t, srvB, "1000000")
	if second.Computed || second.Primes != 78498 || second.Instance != "B" {
		t.Fatalf("second answer %+v, want 78498 primes served by B without computing", second)
	}
	again := primes(t, srvB, "1000000")
	if again.Computed || again.Primes != 78498 {
		t.Fatalf("third answer %+v, want 78498 primes from B's memory", again)
	}
	if a.computed.Load() != 1 || b.computed.Load() != 0 {
		t.Fatalf("A computed %d times and B %d, want 1 and 0", a.computed.Load(), b.computed.Load())
	}

	metricsB := get(t, srvB.URL+"/metrics")
	for _, line := range []string{
		`klepto_events_total{kind="load",name="primes",source="memo"} 1`,
		`klepto_events_total{kind="hit",name="primes",source="memo"} 1`,
		`klepto_events_total{kind="hit",name="primes",source="table"} 1`,
		`klepto_duration_seconds_count{kind="load",name="primes",source="memo"} 1`,
	} {
		if !strings.Contains(metricsB, line+"\n") {
			t.Errorf("B's /metrics lacks %s:\n%s", line, metricsB)
		}
	}
	if strings.Contains(metricsB, `kind="miss",name="primes",source="memo"`) {
		t.Errorf("B's /metrics counts a miss:\n%s", metricsB)
	}
	metricsA := get(t, srvA.URL+"/metrics")
	if !strings.Contains(metricsA, `klepto_events_total{kind="miss",name="primes",source="memo"} 1`+"\n") {
		t.Errorf("A's /metrics lacks its miss:\n%s", metricsA)
	}
}

// Two copies over one PostgreSQL database, through pgx as -dsn opens it.
func TestTwoInstancesSharePostgres(t *testing.T) {
	dsn := os.Getenv("KLEPTO_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("KLEPTO_TEST_REQUIRE_DBS") == "1" {
			t.Fatal("KLEPTO_TEST_POSTGRES_DSN is not set, and KLEPTO_TEST_REQUIRE_DBS=1")
		}
		t.Skip("set KLEPTO_TEST_POSTGRES_DSN to run against PostgreSQL")
	}
	// A schema of its own, dropped at the end.
	admin, _, err := openDB(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := fmt.Sprintf("httpservice_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	var srv [2]*httptest.Server
	for i, name := range []string{"A", "B"} {
		db, driver, err := openDB(u.String())
		if err != nil || driver != "pgx" {
			t.Fatalf("openDB: %s, %v; want pgx", driver, err)
		}
		_, srv[i] = serve(t, db, name)
	}
	if r := primes(t, srv[0], "100000"); !r.Computed || r.Primes != 9592 {
		t.Fatalf("first answer %+v, want 9592 primes computed", r)
	}
	if r := primes(t, srv[1], "100000"); r.Computed || r.Primes != 9592 {
		t.Fatalf("second answer %+v, want 9592 primes served without computing", r)
	}
}

func TestOpenDBBadDSN(t *testing.T) {
	if _, _, err := openDB("mysql://x"); err == nil {
		t.Fatal("openDB accepted a MySQL DSN")
	}
}

func TestBadRequest(t *testing.T) {
	_, srv := start(t, filepath.Join(t.TempDir(), "httpservice.db"), "A")
	for _, n := range []string{"x", "-1", "100000001"} {
		resp, err := http.Get(srv.URL + "/primes?n=" + n)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("n=%s: %s, want 400", n, resp.Status)
		}
	}
}

func TestCountPrimes(t *testing.T) {
	for n, want := range map[int]int{0: 0, 2: 0, 3: 1, 10: 4, 100: 25, 1000: 168} {
		if got, err := countPrimes(t.Context(), n); err != nil || got != want {
			t.Errorf("countPrimes(%d) = %d, %v; want %d", n, got, err, want)
		}
	}
}

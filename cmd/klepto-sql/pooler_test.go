package main

import (
	"strings"
	"testing"
)

// pooler=transaction is klepto-sql's: it leaves the DSN, which gets lib/pq's
// binary_parameters=yes unless it sets it, and marks the database as
// behind a pooler; any other mode is refused.
func TestParseDSNPooler(t *testing.T) {
	tests := []struct {
		in, dsn string
	}{
		{"postgres://app@pgbouncer:6432/app?sslmode=disable&pooler=transaction",
			"postgres://app@pgbouncer:6432/app?binary_parameters=yes&sslmode=disable"},
		{"postgres://app@pgbouncer:6432/app?pooler=transaction&binary_parameters=no",
			"postgres://app@pgbouncer:6432/app?binary_parameters=no"},
	}
	for _, tt := range tests {
		db, err := parseDSN(tt.in)
		if err != nil {
			t.Fatalf("parseDSN(%q): %v", tt.in, err)
		}
		if db.dsn != tt.dsn || !db.pooler || db.shown != tt.in {
			t.Errorf("parseDSN(%q) = dsn %q, pooler %v, shown %q; want %q, true, the URL as given", tt.in, db.dsn, db.pooler, db.shown, tt.dsn)
		}
	}
	if db, err := parseDSN("postgres://app@db/app"); err != nil || db.pooler {
		t.Errorf("parseDSN without pooler: pooler %v, %v; want false", db.pooler, err)
	}
	for _, in := range []string{"postgres://app@db/app?pooler=session", "postgres://app@db/app?pooler=transaction&pooler=transaction"} {
		if _, err := parseDSN(in); err == nil || !strings.Contains(err.Error(), "pooler=transaction") {
			t.Errorf("parseDSN(%q) = %v, want an error naming pooler=transaction", in, err)
		}
	}
}

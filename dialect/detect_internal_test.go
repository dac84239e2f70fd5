package dialect

import "testing"

// The drivers Detect knows, by the package paths of their types, including
// those this module does not depend on.
func TestDriverDialect(t *testing.T) {
	tests := []struct {
		pkg  string
		want *Dialect
	}{
		{"github.com/mattn/go-sqlite3", SQLite},
		{"modernc.org/sqlite", SQLite},
		{"github.com/lib/pq", Postgres},
		{"github.com/jackc/pgx/v5/stdlib", Postgres},
		{"github.com/jackc/pgx/v4/stdlib", Postgres},
		{"github.com/go-sql-driver/mysql", MySQL},
		{"github.com/mattn/go-sqlite3x", nil},
		{"modernc.org/sqlite/lib", nil},
		{"github.com/lib/pqx", nil},
		{"example.com/trace", nil},
		{"", nil},
	}
	for _, tc := range tests {
		if got := driverDialect(tc.pkg); got != tc.want {
			t.Errorf("driverDialect(%q) = %v, want %v", tc.pkg, got, tc.want)
		}
	}
}

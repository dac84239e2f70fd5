module github.com/klepto-sql/klepto/bench

go 1.26.0

replace github.com/klepto-sql/klepto => ../

require (
	github.com/go-sql-driver/mysql v1.10.1
	github.com/hashicorp/golang-lru/v2 v2.0.7
	github.com/klepto-sql/klepto v0.0.0-00010101000000-000000000000
	github.com/lib/pq v1.12.3
	github.com/mattn/go-sqlite3 v1.14.53
	github.com/maypok86/otter/v2 v2.4.0
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/gofrs/flock v0.13.2 // indirect
	github.com/golang-migrate/migrate/v4 v4.20.1 // indirect
	github.com/klauspost/cpuid/v2 v2.2.10 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

package dialect_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
)

// Detect knows the driver of a *sql.DB, of a *sql.Conn and of the sqlx
// types around them, and refuses a transaction.
func TestDetect(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		if got, err := dialect.Detect(ctx, db); got != d || err != nil {
			t.Errorf("Detect(*sql.DB) = %v, %v; want %v", got, err, d)
		}
		if got, err := dialect.Detect(ctx, sqlx.NewDb(db, "driver name not used")); got != d || err != nil {
			t.Errorf("Detect(*sqlx.DB) = %v, %v; want %v", got, err, d)
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if got, err := dialect.Detect(ctx, conn); got != d || err != nil {
			t.Errorf("Detect(*sql.Conn) = %v, %v; want %v", got, err, d)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if got, err := dialect.Detect(ctx, tx); got != nil || !errors.Is(err, dialect.ErrUndetected) {
			t.Errorf("Detect(*sql.Tx) = %v, %v; want an error wrapping ErrUndetected", got, err)
		}
		// The transaction is still usable: Detect ran nothing in it.
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
			t.Errorf("the transaction after Detect: %v", err)
		}
	})
}

// Resolve checks a named dialect against the driver, and finds the
// dialect when none is named.
func TestResolve(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sql.DB, d *dialect.Dialect) {
		ctx := t.Context()
		if got, err := dialect.Resolve(ctx, db, nil); got != d || err != nil {
			t.Errorf("Resolve(nil) = %v, %v; want %v", got, err, d)
		}
		if got, err := dialect.Resolve(ctx, db, d); got != d || err != nil {
			t.Errorf("Resolve(%v) = %v, %v; want %v", d, got, err, d)
		}
		for _, other := range sqltest.Dialects() {
			if other == d {
				continue
			}
			got, err := dialect.Resolve(ctx, db, other)
			var me *dialect.MismatchError
			if got != nil || !errors.As(err, &me) || me.Dialect != other || me.Database != d || me.Queried || me.Driver == "" {
				t.Errorf("Resolve(%v) on %v = %v, %#v; want a *MismatchError naming the driver", other, d, got, err)
			}
			// A transaction does not show its driver: the named dialect
			// is trusted.
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := dialect.Resolve(ctx, tx, other); got != other || err != nil {
				t.Errorf("Resolve(*sql.Tx, %v) = %v, %v; want %v", other, got, err, other)
			}
			tx.Rollback()
		}
	})
}

// The message names the dialect given and the driver found, once each.
func TestMismatchErrorMessage(t *testing.T) {
	tests := []struct {
		err  *dialect.MismatchError
		want string
	}{
		{&dialect.MismatchError{Dialect: dialect.Postgres, Database: dialect.MySQL, Driver: "github.com/go-sql-driver/mysql"},
			"dialect postgres does not match the database's driver (github.com/go-sql-driver/mysql, dialect mysql)"},
		{&dialect.MismatchError{Dialect: dialect.MySQL, Database: dialect.SQLite, Driver: "example.com/trace", Queried: true},
			"dialect mysql does not match the database (driver example.com/trace, which answers as sqlite)"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// A driver Detect does not know, such as one wrapping another for tracing,
// is recognized by asking the database.
func TestDetectUnknownDriver(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(d.Name(), func(t *testing.T) {
			ctx := t.Context()
			fresh := sqltest.Fresh(t, d)
			db := sql.OpenDB(wrapped{fresh.DB.Driver(), fresh.DSN})
			t.Cleanup(func() { db.Close() })
			if got, err := dialect.Detect(ctx, db); got != d || err != nil {
				t.Errorf("Detect over a wrapping driver = %v, %v; want %v", got, err, d)
			}
			for _, other := range sqltest.Dialects() {
				if other == d {
					continue
				}
				var me *dialect.MismatchError
				_, err := dialect.Resolve(ctx, db, other)
				if !errors.As(err, &me) || !me.Queried || me.Database != d {
					t.Errorf("Resolve(%v) over a wrapping driver of %v: %v; want a *MismatchError found by query", other, d, err)
				}
			}
		})
	}
}

// A database that answers neither query is not recognized, and a named
// dialect is then trusted.
func TestDetectUnknownDatabase(t *testing.T) {
	db := sql.OpenDB(wrapped{nothing{}, ""})
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	if got, err := dialect.Detect(ctx, db); got != nil || !errors.Is(err, dialect.ErrUndetected) {
		t.Errorf("Detect = %v, %v; want an error wrapping ErrUndetected", got, err)
	}
	if got, err := dialect.Resolve(ctx, db, dialect.MySQL); got != dialect.MySQL || err != nil {
		t.Errorf("Resolve(mysql) = %v, %v; want mysql", got, err)
	}
}

// wrapped is a connector whose driver is a type of this package, as that
// of a driver wrapping another one for tracing would be.
type wrapped struct {
	inner driver.Driver
	dsn   string
}

func (w wrapped) Connect(context.Context) (driver.Conn, error) { return w.inner.Open(w.dsn) }
func (w wrapped) Driver() driver.Driver                        { return wrapperDriver{w.inner} }

type wrapperDriver struct{ driver.Driver }

// nothing is a driver whose connections fail every statement.
type nothing struct{}

func (nothing) Open(string) (driver.Conn, error) { return nothingConn{}, nil }

type nothingConn struct{}

func (nothingConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("no statements here") }
func (nothingConn) Close() error                        { return nil }
func (nothingConn) Begin() (driver.Tx, error)           { return nil, errors.New("no transactions here") }

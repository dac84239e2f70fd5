// Package dialecttest is the conformance suite of package dialect: [Run]
// checks one [dialect.Dialect] against a live database, as testing/fstest
// checks a file system. Every dialect must pass it on every database version
// klepto supports; dialect's own tests run it on SQLite, PostgreSQL and
// MariaDB.
package dialecttest

// Package archive holds the archives that need no database: [Dict], a map
// in memory, and [Null], which stores nothing. Both satisfy
// [cache.Archive], so code can switch between them and the SQL archives
// (package sqltable) without change.
//
// Every archive in klepto-sql passes the conformance suite in
// [github.com/klepto-sql/klepto/archive/archivetest].
//
// All archives here are safe for concurrent use.
package archive

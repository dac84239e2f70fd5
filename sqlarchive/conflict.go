package sqlarchive

// conflictRetries is how many times the statements of leases, statistics
// and recorded types, and the creation of an archive, run again after a
// deadlock, through [dialect.Dialect.RetryConflict]: on a MariaDB Galera
// cluster, a transaction that lost the certification to a concurrent write
// of the same rows through another node. They are single statements in
// autocommit, or whole transactions, so they may be run again whole.
const conflictRetries = 8

-- Unlogged: a lease lives seconds and its loss costs at most a second
-- computation, so taking and releasing one needs no WAL flush. PostgreSQL
-- empties the table after a crash, and standbys do not have its rows.
CREATE UNLOGGED TABLE klepto_leases (
  table_name TEXT NOT NULL,
  key_hash BYTEA NOT NULL,
  holder TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (table_name, key_hash)
);
CREATE INDEX klepto_leases_expires ON klepto_leases (expires_at);
-- A lease is released by expiring it (an update), and swept later.
CREATE TRIGGER klepto_leases_notify AFTER UPDATE OR DELETE ON klepto_leases
  FOR EACH STATEMENT EXECUTE FUNCTION klepto_notify();

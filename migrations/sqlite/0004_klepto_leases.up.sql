CREATE TABLE klepto_leases (
  table_name TEXT NOT NULL,
  key_hash BLOB NOT NULL,
  holder TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  PRIMARY KEY (table_name, key_hash)
) WITHOUT ROWID;
CREATE INDEX klepto_leases_expires ON klepto_leases (expires_at);

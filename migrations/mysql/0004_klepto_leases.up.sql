CREATE TABLE klepto_leases (
  table_name VARCHAR(64) NOT NULL,
  key_hash BINARY(32) NOT NULL,
  holder VARCHAR(128) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  PRIMARY KEY (table_name, key_hash),
  KEY klepto_leases_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE klepto_changes (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  table_name TEXT NOT NULL,
  key_hash BYTEA,
  op TEXT NOT NULL,
  at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX klepto_changes_at ON klepto_changes (at);

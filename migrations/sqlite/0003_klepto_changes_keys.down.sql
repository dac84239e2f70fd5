ALTER TABLE klepto_changes DROP COLUMN key_text;
CREATE INDEX IF NOT EXISTS klepto_changes_at ON klepto_changes (at);

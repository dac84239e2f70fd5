DROP TRIGGER IF EXISTS klepto_changes_notify ON klepto_changes;
DROP FUNCTION IF EXISTS klepto_notify();
ALTER TABLE klepto_changes DROP COLUMN key_text;
CREATE INDEX IF NOT EXISTS klepto_changes_at ON klepto_changes (at);

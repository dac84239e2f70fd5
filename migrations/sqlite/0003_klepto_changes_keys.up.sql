ALTER TABLE klepto_changes ADD COLUMN key_text TEXT;
DROP INDEX IF EXISTS klepto_changes_at;

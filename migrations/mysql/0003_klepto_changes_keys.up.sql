ALTER TABLE klepto_changes ADD COLUMN key_text LONGTEXT NULL, DROP INDEX klepto_changes_at;

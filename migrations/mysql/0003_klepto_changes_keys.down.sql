ALTER TABLE klepto_changes DROP COLUMN key_text, ADD INDEX klepto_changes_at (at);

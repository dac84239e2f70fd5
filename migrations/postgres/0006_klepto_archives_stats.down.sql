ALTER TABLE klepto_archives DROP COLUMN stats_at, DROP COLUMN loads;

ALTER TABLE klepto_archives DROP COLUMN stats_at;
ALTER TABLE klepto_archives DROP COLUMN loads;

DROP TABLE IF EXISTS klepto_changes;

DROP TABLE IF EXISTS klepto_archives;

ALTER TABLE klepto_archives DROP COLUMN args_type;
ALTER TABLE klepto_archives DROP COLUMN result_type;

ALTER TABLE klepto_archives DROP COLUMN args_type, DROP COLUMN result_type;

ALTER TABLE klepto_archives ADD COLUMN result_type TEXT NULL, ADD COLUMN args_type TEXT NULL;

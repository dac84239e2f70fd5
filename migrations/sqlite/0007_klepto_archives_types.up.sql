ALTER TABLE klepto_archives ADD COLUMN result_type TEXT;
ALTER TABLE klepto_archives ADD COLUMN args_type TEXT;

ALTER TABLE klepto_changes ADD COLUMN key_text TEXT;
DROP INDEX IF EXISTS klepto_changes_at;
-- Every statement that records changes, or releases leases, notifies the
-- channel named after its table, with the schema as payload, when its
-- transaction commits.
CREATE OR REPLACE FUNCTION klepto_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_TABLE_NAME, TG_TABLE_SCHEMA);
  RETURN NULL;
END
$$;
CREATE TRIGGER klepto_changes_notify AFTER INSERT ON klepto_changes
  FOR EACH STATEMENT EXECUTE FUNCTION klepto_notify();

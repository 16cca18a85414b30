-- 001_init: the intelligence schema, owned by svc-intelligence alone, and its migration record.
-- The runner (common/src/db_migrate.c) creates the schema when it is missing
-- and this table before applying any file, so that it can record this one. The
-- schema itself is not created here: a daemon's role owns its schema but may not
-- create schemas, and PostgreSQL checks that right before IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS intelligence.schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

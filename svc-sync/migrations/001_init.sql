-- 001_init: the sync schema, owned by svc-sync alone, and its migration record.
-- The runner (common/src/db.c) creates both before applying any file so that it
-- can record this one; repeating them here keeps the file a complete
-- description of the schema's start.
CREATE SCHEMA IF NOT EXISTS sync;

CREATE TABLE IF NOT EXISTS sync.schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

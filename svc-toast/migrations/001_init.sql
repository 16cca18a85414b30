-- 001_init: the toast schema, owned by svc-toast alone, and its migration record.
-- The runner (common/src/db.c) creates both before applying any file so that it
-- can record this one; repeating them here keeps the file a complete
-- description of the schema's start.
CREATE SCHEMA IF NOT EXISTS toast;

CREATE TABLE IF NOT EXISTS toast.schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

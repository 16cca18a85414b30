-- deploy/postgres/roles.sql: one login role per daemon, each with rights on
-- its own schema only (DESIGN section 6: "a daemon reads and writes only its
-- own schema").
--
-- Run it once per database, as a superuser (or a role with CREATEROLE that
-- owns the database), connected to Brain's database:
--   psql -v ON_ERROR_STOP=1 -d brain -f deploy/postgres/roles.sql
-- It is idempotent: running it again changes nothing. It sets no passwords
-- (this file is committed); give each role one from your secret store:
--   ALTER ROLE brain_gateway PASSWORD '...';   -- or, in psql: \password brain_gateway
-- and hand the daemon its URL as a secret file (DATABASE_URL_FILE):
--   postgresql://brain_gateway:<password>@<host>:5432/brain
--
--   role               schema        daemon
--   brain_gateway      gateway       gateway
--   brain_automation   automation    svc-automation
--   brain_intelligence intelligence  svc-intelligence
--   brain_toast        toast         svc-toast
--   brain_embedding    embedding     svc-embedding
--   brain_sync         sync          svc-sync
--
-- Each role owns its schema, so its migrations (run by the daemon at start-up,
-- common/src/db.c) can create and alter what they like inside it, and nothing
-- outside it: no other schema is usable by it, and nobody may create objects
-- in public. Two consequences for the daemons' migrations:
--   * The schema exists before the daemon first starts (created here), and
--     the roles may not create schemas: a migration must not say CREATE
--     SCHEMA, not even IF NOT EXISTS for a schema that exists, because
--     PostgreSQL checks the right to create schemas in the database first
--     ("permission denied for database brain"). The migration runner
--     (db_migrate) creates the schema only when it is missing.
--   * A table's owner bypasses its row-level security unless the table says
--     ALTER TABLE ... FORCE ROW LEVEL SECURITY; the daemons own their tables,
--     so the tenant policies (DESIGN section 6) need FORCE to hold for them.
-- The roles are NOSUPERUSER and NOBYPASSRLS for the same reason.

\set ON_ERROR_STOP on

BEGIN;

-- PostgreSQL 15 already creates new databases this way; a database made by an
-- older version (or restored from one) lets every role create objects in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

DO $$
DECLARE
    r record;
    o record;
BEGIN
    -- Only the roles granted below may connect, and nobody gets temporary
    -- tables (a schema of their own outside these rules).
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());

    FOR r IN
        SELECT * FROM (VALUES
            ('brain_gateway', 'gateway'),
            ('brain_automation', 'automation'),
            ('brain_intelligence', 'intelligence'),
            ('brain_toast', 'toast'),
            ('brain_embedding', 'embedding'),
            ('brain_sync', 'sync')
        ) AS t(role_name, schema_name)
    LOOP
        -- A login role with no special powers. NOINHERIT: should someone grant
        -- it another role's membership by mistake, it still gets no rights
        -- without an explicit SET ROLE.
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.role_name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', r.role_name);
        END IF;
        EXECUTE format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                       'NOINHERIT NOREPLICATION NOBYPASSRLS', r.role_name);

        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), r.role_name);

        -- The schema, owned by its role: USAGE and CREATE on it, and ownership
        -- of everything its migrations create there. Nobody else gets any
        -- right on it (a new schema grants PUBLIC nothing; the REVOKE makes
        -- that hold for a schema that existed before this script).
        IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = r.schema_name) THEN
            EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', r.schema_name, r.role_name);
        END IF;
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', r.schema_name, r.role_name);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', r.schema_name);

        -- A schema that a superuser migrated before this script ran holds
        -- objects the role does not own: hand them over. (Sequences that
        -- belong to a column follow their table; indexes follow theirs.)
        FOR o IN
            SELECT format('ALTER %s %s OWNER TO %I',
                          CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                         WHEN 'm' THEN 'MATERIALIZED VIEW'
                                         WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE'
                                         ELSE 'TABLE' END,
                          c.oid::regclass, r.role_name) AS stmt
            FROM pg_class c
            WHERE c.relnamespace = r.schema_name::regnamespace
              AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c')
              AND c.relowner <> r.role_name::regrole
              AND NOT (c.relkind = 'S' AND EXISTS (
                  SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
            UNION ALL
            SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, r.role_name)
            FROM pg_proc p
            WHERE p.pronamespace = r.schema_name::regnamespace
              AND p.proowner <> r.role_name::regrole
            UNION ALL
            SELECT format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, r.role_name)
            FROM pg_type t
            WHERE t.typnamespace = r.schema_name::regnamespace
              AND t.typtype IN ('e', 'd', 'r', 'm')
              AND t.typowner <> r.role_name::regrole
        LOOP
            EXECUTE o.stmt;
        END LOOP;

        -- Unqualified names resolve in the daemon's own schema first.
        EXECUTE format('ALTER ROLE %I IN DATABASE %I SET search_path = %I, public',
                       r.role_name, current_database(), r.schema_name);
    END LOOP;
END
$$;

COMMIT;

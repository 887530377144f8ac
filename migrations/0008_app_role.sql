-- The role the functions connect as (least privilege): read and write rows, never DDL, never
-- DELETE/TRUNCATE, order_events append-only, schema_migrations read-only. Roles are cluster-wide,
-- so creating it tolerates an existing one (another database of the same cluster, a re-run).
-- It logs in with the password the migrate function sets from its secret (functions/migrate.ts);
-- until then it cannot log in at all. Every later migration that adds a table grants on it here
-- too (the default privileges below cover tables created by the migrating user).
DO $$
BEGIN
  CREATE ROLE flashsale_app LOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN -- unique_violation: a concurrent create
  NULL;
END
$$;

DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO flashsale_app', current_database());
END
$$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO flashsale_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO flashsale_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO flashsale_app;
REVOKE INSERT, UPDATE ON schema_migrations FROM flashsale_app;
REVOKE UPDATE ON order_events FROM flashsale_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO flashsale_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO flashsale_app;

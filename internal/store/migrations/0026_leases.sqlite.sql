-- Lease owners. Keep in step with 0026_leases.postgres.sql, which says what
-- the columns mean. SQLite has no database sessions: pg_pid and
-- pg_backend_start stay NULL, and a local lock file proves an instance alive
-- instead (internal/datalock).
CREATE TABLE instances (
    id               TEXT PRIMARY KEY,
    host             TEXT NOT NULL,
    pid              INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    heartbeat_at     INTEGER NOT NULL,
    pg_pid           INTEGER,
    pg_backend_start INTEGER
) STRICT;

ALTER TABLE card_sync ADD COLUMN lease_owner TEXT;
CREATE INDEX card_sync_lease_owner ON card_sync (lease_owner) WHERE lease_owner IS NOT NULL;

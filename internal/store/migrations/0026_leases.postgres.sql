-- Lease owners: which passd instance holds each claimed card, and which
-- instances are alive, so that the work of a crashed instance goes back to
-- the pool within seconds rather than when its lease runs out (internal/lease).
--
-- instances: one row per running passd. heartbeat_at is refreshed every
-- few seconds; pg_pid and pg_backend_start name the database session the
-- instance holds open for its heartbeats, so that another instance sees at
-- once (in pg_stat_activity) that the session, and so the process, is gone.
CREATE TABLE instances (
    id               text PRIMARY KEY,
    host             text NOT NULL,
    pid              integer NOT NULL,
    started_at       timestamptz NOT NULL,
    heartbeat_at     timestamptz NOT NULL,
    pg_pid           integer,
    pg_backend_start timestamptz
);

-- lease_owner: the instance that claimed the card and has not recorded its
-- outcome yet; NULL when nobody holds it (or it was claimed before 0026).
ALTER TABLE card_sync ADD COLUMN lease_owner text;
CREATE INDEX card_sync_lease_owner ON card_sync (lease_owner) WHERE lease_owner IS NOT NULL;

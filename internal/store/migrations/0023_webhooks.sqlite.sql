-- Webhooks. Keep in step with 0023_webhooks.postgres.sql.
--
-- webhook_endpoints: program is '' for an endpoint of every programme;
-- events lists the subscribed types between spaces (" a b "), so the
-- outbox statements match a type with LIKE '% type %' on either database.
-- A receiver's 410 sets disabled_at: nothing more is written or sent.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    program         TEXT NOT NULL,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    secret          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    disabled_at     INTEGER,
    disabled_reason TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX webhook_endpoints_live ON webhook_endpoints (program) WHERE disabled_at IS NULL;

-- The outbox: an event is written in its cause's transaction, and only
-- when a live endpoint wants it (no endpoint, no row). id is the
-- webhook-id every attempt carries; seq orders a member's events.
CREATE TABLE webhook_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    member_id  TEXT NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_events_member ON webhook_events (member_id);

-- One row per event and endpoint, written with the event. state is
-- pending, delivered or failed; workers claim due pending rows and lease
-- them by moving next_at (lease holds the claim's token), as card_sync.
CREATE TABLE webhook_deliveries (
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq   INTEGER NOT NULL REFERENCES webhook_events (seq),
    member_id   TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    lease       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, event_seq)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, member_id, event_seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq);

-- Every attempt, for GET /api/v1/webhooks/{id}/deliveries. status is 0
-- when no answer came (error says why).
CREATE TABLE webhook_attempts (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id  TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    attempted_at INTEGER NOT NULL,
    status       INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    error        TEXT NOT NULL
) STRICT;
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, seq);

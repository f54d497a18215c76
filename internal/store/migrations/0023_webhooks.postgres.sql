-- Webhooks: the endpoints, the outbox of events, one delivery row per event
-- and endpoint, and the log of every attempt. Keep in step with
-- 0023_webhooks.sqlite.sql, which explains the choices.
CREATE TABLE webhook_endpoints (
    id              text PRIMARY KEY,
    program         text NOT NULL,
    url             text NOT NULL,
    events          text NOT NULL,
    secret          text NOT NULL,
    created_at      timestamptz NOT NULL,
    disabled_at     timestamptz,
    disabled_reason text NOT NULL DEFAULT ''
);
CREATE INDEX webhook_endpoints_live ON webhook_endpoints (program) WHERE disabled_at IS NULL;

CREATE TABLE webhook_events (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    member_id  text NOT NULL,
    type       text NOT NULL,
    data       text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX webhook_events_member ON webhook_events (member_id);

CREATE TABLE webhook_deliveries (
    endpoint_id text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq   bigint NOT NULL REFERENCES webhook_events (seq),
    member_id   text NOT NULL,
    state       text NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL,
    lease       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (endpoint_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, member_id, event_seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq);

CREATE TABLE webhook_attempts (
    seq          bigserial PRIMARY KEY,
    endpoint_id  text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id     text NOT NULL,
    event_type   text NOT NULL,
    attempted_at timestamptz NOT NULL,
    status       integer NOT NULL,
    duration_ms  bigint NOT NULL,
    error        text NOT NULL
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, seq);

-- passd schema, SQLite. Keep in step with 0001_init.postgres.sql, which
-- explains the choices. Times are integer unix microseconds (UTC).

CREATE TABLE members (
    id          TEXT PRIMARY KEY,
    program     TEXT NOT NULL,
    number      TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    birthday    TEXT NOT NULL DEFAULT '',
    external_id TEXT,
    auth_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    erased_at   INTEGER
) STRICT;
CREATE UNIQUE INDEX members_external_id_key ON members (program, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX members_program ON members (program) WHERE erased_at IS NULL;

-- The update sequence: raised under the database write lock.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO counters (name, value) VALUES ('update_seq', 0);

CREATE TABLE accounts (
    member_id     TEXT PRIMARY KEY REFERENCES members (id),
    points        INTEGER NOT NULL CHECK (points >= 0),
    lifetime      INTEGER NOT NULL,
    qualifying    INTEGER NOT NULL,
    tier          TEXT NOT NULL,
    pass_version  INTEGER NOT NULL,
    pass_modified INTEGER NOT NULL, -- unix seconds
    update_seq    INTEGER NOT NULL,
    erased        INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE entries (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    member_id     TEXT NOT NULL,
    type          TEXT NOT NULL,
    points        INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    reference     TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX entries_member ON entries (member_id, seq);

CREATE TABLE idempotency_keys (
    member_id    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (member_id, key)
) STRICT;

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX events_member ON events (member_id, seq);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    program    TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

CREATE TABLE registrations (
    device_id    TEXT NOT NULL,
    pass_type_id TEXT NOT NULL,
    member_id    TEXT NOT NULL REFERENCES members (id),
    push_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (device_id, pass_type_id, member_id)
) STRICT;
CREATE INDEX registrations_member ON registrations (member_id);
CREATE INDEX registrations_push_token ON registrations (push_token);

CREATE TABLE card_sync (
    member_id       TEXT NOT NULL REFERENCES members (id),
    channel         TEXT NOT NULL,
    wanted_version  INTEGER NOT NULL,
    synced_version  INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    dirty_since     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (member_id, channel)
) STRICT;
CREATE INDEX card_sync_due ON card_sync (channel, next_attempt_at)
    WHERE wanted_version > synced_version AND state <> 'error';
CREATE INDEX card_sync_error ON card_sync (channel) WHERE state = 'error';

CREATE TABLE program_messages (
    program    TEXT PRIMARY KEY,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- passd schema, PostgreSQL. Keep in step with 0001_init.sqlite.sql.
--
-- The ledger tables (entries, idempotency_keys, events) carry no foreign key
-- to members: a foreign key check locks the member row (KEY SHARE) on every
-- insert, which costs the hot path a tuple lock and its WAL record. The store
-- only writes them after locking the member's account row, which references
-- members.

CREATE TABLE members (
    id          text PRIMARY KEY,
    program     text NOT NULL,
    number      text NOT NULL CONSTRAINT members_number_key UNIQUE,
    name        text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    birthday    text NOT NULL DEFAULT '',
    external_id text,
    auth_token  text NOT NULL,
    created_at  timestamptz NOT NULL,
    erased_at   timestamptz
);
CREATE UNIQUE INDEX members_external_id_key ON members (program, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX members_program ON members (program) WHERE erased_at IS NULL;

-- Orders card changes across members (PassKit "serials updated since").
CREATE SEQUENCE update_seq;

CREATE TABLE accounts (
    member_id     text PRIMARY KEY REFERENCES members (id),
    points        bigint NOT NULL CHECK (points >= 0),
    lifetime      bigint NOT NULL,
    qualifying    bigint NOT NULL,
    tier          text NOT NULL,
    pass_version  bigint NOT NULL,
    pass_modified bigint NOT NULL, -- unix seconds: HTTP dates have no finer resolution
    update_seq    bigint NOT NULL,
    erased        boolean NOT NULL DEFAULT false -- copy of members.erased_at IS NOT NULL, read under the row lock
);

CREATE TABLE entries (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            text NOT NULL CONSTRAINT entries_id_key UNIQUE,
    member_id     text NOT NULL,
    type          text NOT NULL,
    points        bigint NOT NULL,
    balance_after bigint NOT NULL,
    reference     text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL
);
CREATE INDEX entries_member ON entries (member_id, seq);

CREATE TABLE idempotency_keys (
    member_id    text NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    entry_id     text NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (member_id, key)
);

CREATE TABLE events (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id  text NOT NULL,
    kind       text NOT NULL,
    data       text NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL
);
CREATE INDEX events_member ON events (member_id, seq);

CREATE TABLE api_keys (
    id         text PRIMARY KEY,
    hash       text NOT NULL CONSTRAINT api_keys_hash_key UNIQUE,
    role       text NOT NULL,
    program    text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE TABLE registrations (
    device_id    text NOT NULL,
    pass_type_id text NOT NULL,
    member_id    text NOT NULL REFERENCES members (id),
    push_token   text NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (device_id, pass_type_id, member_id)
);
CREATE INDEX registrations_member ON registrations (member_id);
CREATE INDEX registrations_push_token ON registrations (push_token);

CREATE TABLE card_sync (
    member_id       text NOT NULL REFERENCES members (id),
    channel         text NOT NULL,
    wanted_version  bigint NOT NULL,
    synced_version  bigint NOT NULL DEFAULT 0,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    state           text NOT NULL,
    dirty_since     timestamptz NOT NULL, -- when the row last turned dirty
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (member_id, channel)
);
CREATE INDEX card_sync_due ON card_sync (channel, next_attempt_at)
    WHERE wanted_version > synced_version AND state <> 'error';
CREATE INDEX card_sync_error ON card_sync (channel) WHERE state = 'error';

CREATE TABLE program_messages (
    program    text PRIMARY KEY,
    text       text NOT NULL,
    created_at timestamptz NOT NULL
);

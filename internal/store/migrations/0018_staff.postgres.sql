-- Staff accounts of the merchant console, their server-side sessions and
-- their one-time set-password links. Sessions and links are kept as the
-- SHA-256 of their secret. Keep in step with 0018_staff.sqlite.sql.
CREATE TABLE staff_users (
    id            text PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    role          text NOT NULL,
    program       text NOT NULL DEFAULT '',
    password_hash text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    disabled_at   timestamptz
);

CREATE TABLE staff_sessions (
    id_hash      text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES staff_users (id),
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
CREATE INDEX staff_sessions_user ON staff_sessions (user_id);

CREATE TABLE staff_password_tokens (
    token_hash text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES staff_users (id),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX staff_password_tokens_user ON staff_password_tokens (user_id);

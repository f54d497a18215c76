-- Rewards and vouchers. Keep in step with 0015_rewards.sqlite.sql, which
-- explains the choices.
CREATE TABLE rewards (
    id          text PRIMARY KEY,
    program     text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    cost_points bigint NOT NULL CHECK (cost_points > 0),
    min_tier    text NOT NULL DEFAULT '',
    valid_days  integer NOT NULL,
    active      boolean NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX rewards_program ON rewards (program, created_at, id);

CREATE TABLE vouchers (
    code       text PRIMARY KEY,
    member_id  text NOT NULL REFERENCES members (id),
    program    text NOT NULL,
    reward_id  text NOT NULL REFERENCES rewards (id),
    entry_id   text NOT NULL UNIQUE,
    status     text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    used_key   text
);
CREATE INDEX vouchers_member ON vouchers (member_id, created_at);

ALTER TABLE accounts ADD COLUMN vouchers text NOT NULL DEFAULT '';

-- Rewards and vouchers. Keep in step with 0015_rewards.postgres.sql.
--
-- A reward is an item of a programme's catalogue bought with points; a
-- redemption writes a redeem entry and a voucher in one transaction under
-- the member's lock. entry_id ties the voucher to the entry that paid for
-- it, so an idempotent replay (the key names the entry) finds its voucher.
-- used_key is the Idempotency-Key of the use, so a replay of the use
-- answers the used voucher again.
--
-- accounts.vouchers is the member's unused vouchers as JSON ([{code,
-- reward, expires_at}]), rewritten in every transaction that issues or uses
-- a voucher: the member read that builds a card stays one read of one row.
-- Expired vouchers stay in it until a later write (or time-driven work)
-- drops them; the card filters them by the time it is built.
CREATE TABLE rewards (
    id          TEXT PRIMARY KEY,
    program     TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    cost_points INTEGER NOT NULL CHECK (cost_points > 0),
    min_tier    TEXT NOT NULL DEFAULT '',
    valid_days  INTEGER NOT NULL,
    active      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX rewards_program ON rewards (program, created_at, id);

CREATE TABLE vouchers (
    code       TEXT PRIMARY KEY,
    member_id  TEXT NOT NULL REFERENCES members (id),
    program    TEXT NOT NULL,
    reward_id  TEXT NOT NULL REFERENCES rewards (id),
    entry_id   TEXT NOT NULL UNIQUE,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_key   TEXT
) STRICT;
CREATE INDEX vouchers_member ON vouchers (member_id, created_at);

ALTER TABLE accounts ADD COLUMN vouchers TEXT NOT NULL DEFAULT '';

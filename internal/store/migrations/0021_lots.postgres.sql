-- Lots of expiring points (API.md "Expiry"). Keep in step with
-- 0021_lots.sqlite.sql.
--
-- A lot is what one credit (an earn, a bonus, a positive adjust) added in a
-- programme with expiry; its id is the id of that entry. remaining is what
-- debits (oldest lot first) and its expiry have not taken yet; expires_at is
-- the sale's time plus the programme's after_days; remind_at is remind_days
-- earlier (NULL without a reminder), and reminded says the card has shown
-- it. Points held before the programme turned expiry on belong to no lot
-- and never expire.
--
-- Like the other ledger tables, lots carry no foreign key to members (see
-- 0001): every writer holds the member's account row lock first.
--
-- entries_expire_lot makes a lot's expiry unique: at most one expire entry
-- per lot (its reference is "lot:<lot id>"), whatever instances run. It is
-- partial, so the other entries, the hot path's, do not maintain it.
--
-- lots_member lists a member's open lots in the order they are spent and
-- shown; lots_expire and lots_remind are the due indexes of the expiry and
-- reminder jobs, both partial so that spent lots leave them.
CREATE TABLE lots (
    id         text PRIMARY KEY,
    member_id  text NOT NULL,
    points     bigint NOT NULL CHECK (points > 0),
    remaining  bigint NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    earned_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    remind_at  timestamptz,
    reminded   boolean NOT NULL DEFAULT false
);
CREATE INDEX lots_member ON lots (member_id, expires_at, earned_at, id) WHERE remaining > 0;
CREATE INDEX lots_expire ON lots (expires_at) WHERE remaining > 0;
CREATE INDEX lots_remind ON lots (remind_at) WHERE remaining > 0 AND NOT reminded AND remind_at IS NOT NULL;
CREATE UNIQUE INDEX entries_expire_lot ON entries (reference) WHERE type = 'expire';

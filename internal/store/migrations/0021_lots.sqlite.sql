-- Lots of expiring points. Keep in step with 0021_lots.postgres.sql, which
-- says what the columns and indexes are for.
CREATE TABLE lots (
    id         TEXT PRIMARY KEY,
    member_id  TEXT NOT NULL,
    points     INTEGER NOT NULL CHECK (points > 0),
    remaining  INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    earned_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    remind_at  INTEGER,
    reminded   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX lots_member ON lots (member_id, expires_at, earned_at, id) WHERE remaining > 0;
CREATE INDEX lots_expire ON lots (expires_at) WHERE remaining > 0;
CREATE INDEX lots_remind ON lots (remind_at) WHERE remaining > 0 AND NOT reminded AND remind_at IS NOT NULL;
CREATE UNIQUE INDEX entries_expire_lot ON entries (reference) WHERE type = 'expire';

-- Stamp cards and cashback. Keep in step with
-- 0020_stamps_cashback.postgres.sql, which says what the columns mean.
--
-- SQLite cannot drop a column's UNIQUE: vouchers is rebuilt without it
-- (no table references vouchers).
ALTER TABLE accounts ADD COLUMN stamps INTEGER NOT NULL DEFAULT 0 CHECK (stamps >= 0);
ALTER TABLE accounts ADD COLUMN cashback INTEGER NOT NULL DEFAULT 0 CHECK (cashback >= 0);
ALTER TABLE entries ADD COLUMN stamps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE entries ADD COLUMN cashback INTEGER NOT NULL DEFAULT 0;

CREATE TABLE vouchers_0020 (
    code       TEXT PRIMARY KEY,
    member_id  TEXT NOT NULL REFERENCES members (id),
    program    TEXT NOT NULL,
    reward_id  TEXT NOT NULL REFERENCES rewards (id),
    entry_id   TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_key   TEXT
) STRICT;
INSERT INTO vouchers_0020 (code, member_id, program, reward_id, entry_id, status, created_at, expires_at, used_at, used_key)
    SELECT code, member_id, program, reward_id, entry_id, status, created_at, expires_at, used_at, used_key FROM vouchers;
DROP TABLE vouchers;
ALTER TABLE vouchers_0020 RENAME TO vouchers;
CREATE INDEX vouchers_member ON vouchers (member_id, created_at);
CREATE INDEX vouchers_entry ON vouchers (entry_id);

-- Bonus entries and referral. Keep in step with
-- 0019_bonus_referral.postgres.sql, which explains the columns.
ALTER TABLE entries ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN referral_code TEXT;
ALTER TABLE members ADD COLUMN referred_by TEXT;
CREATE UNIQUE INDEX members_referral_code_key ON members (program, referral_code) WHERE referral_code IS NOT NULL;
CREATE INDEX members_without_referral_code ON members (id) WHERE referral_code IS NULL;

CREATE TABLE referral_credits (
    referee_id  TEXT PRIMARY KEY,
    referrer_id TEXT NOT NULL,
    referee_points  INTEGER NOT NULL,
    referrer_points INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

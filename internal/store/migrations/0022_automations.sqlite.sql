-- Time-driven work: birthdays, dormancy, lapsing vouchers and tier reviews. Keep in step
-- with 0022_automations.postgres.sql, which says what the columns mean.
-- Times are unix microseconds.
ALTER TABLE members ADD COLUMN birthday_due_at INTEGER;
UPDATE members SET birthday_due_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000000
    WHERE birthday <> '' AND erased_at IS NULL;
CREATE INDEX members_birthday_due ON members (birthday_due_at) WHERE birthday_due_at IS NOT NULL;

CREATE TABLE birthday_credits (
    member_id  TEXT NOT NULL,
    year       INTEGER NOT NULL,
    points     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (member_id, year)
) STRICT;

ALTER TABLE members ADD COLUMN dormant_check_at INTEGER;
UPDATE members SET dormant_check_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000000 WHERE erased_at IS NULL;
CREATE INDEX members_dormant_check ON members (program, dormant_check_at) WHERE dormant_check_at IS NOT NULL;
ALTER TABLE accounts ADD COLUMN dormant_at INTEGER;

CREATE TABLE dormant_spells (
    member_id   TEXT NOT NULL,
    spell_start INTEGER NOT NULL,
    points      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (member_id, spell_start)
) STRICT;

ALTER TABLE vouchers ADD COLUMN lapsed_at INTEGER;
CREATE INDEX vouchers_to_lapse ON vouchers (expires_at) WHERE status = 'unused' AND lapsed_at IS NULL;

ALTER TABLE accounts ADD COLUMN tier_review_at INTEGER;
CREATE INDEX accounts_tier_review ON accounts (tier_review_at) WHERE tier_review_at IS NOT NULL;

-- Bonus entries and referral. Keep in step with
-- 0019_bonus_referral.sqlite.sql.
--
-- entries.reason says why passd wrote a `bonus` entry (welcome, referral,
-- ...); '' for every other type.
-- members.referral_code is the member's short code for the join page's
-- ?ref=, unique within the programme; NULL for members enrolled before
-- this migration until passd gives them one (Store.BackfillReferralCodes
-- at start). members.referred_by is the member whose code the member
-- enrolled with.
-- referral_credits holds one row per referee whose referral was decided,
-- on the referee's first earn: the points each side got (0 and 0 when no
-- bonus was due: same email, an erased referrer, no referral block). Its
-- primary key makes the credit happen once.
ALTER TABLE entries ADD COLUMN reason text NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN referral_code text;
ALTER TABLE members ADD COLUMN referred_by text;
CREATE UNIQUE INDEX members_referral_code_key ON members (program, referral_code) WHERE referral_code IS NOT NULL;
CREATE INDEX members_without_referral_code ON members (id) WHERE referral_code IS NULL;

CREATE TABLE referral_credits (
    referee_id  text PRIMARY KEY,
    referrer_id text NOT NULL,
    referee_points  bigint NOT NULL,
    referrer_points bigint NOT NULL,
    created_at  timestamptz NOT NULL
);

-- Time-driven work: birthdays, dormancy, lapsing vouchers and tier reviews. Keep in step
-- with 0022_automations.sqlite.sql.
--
-- members.birthday_due_at is when passd next looks at the member's
-- birthday (NULL: no birthday). Enrolment and a birthday change set it to
-- their own time; the birthday job then decides, in the programme's
-- timezone, whether the day has begun and credits the bonus, or moves the
-- due time on (see loyalty.PlanBirthday). birthday_credits holds one row
-- per member and year credited: its primary key makes the bonus happen
-- once a year.
--
-- members.dormant_check_at is when passd next looks at whether the member
-- has gone dormant; only the dormant job moves it, so the ledger's hot
-- path never updates an indexed column for it. accounts.dormant_at is the
-- start of the dormant spell whose message the card shows (NULL: none);
-- every ledger entry a client posts clears it. dormant_spells holds one
-- row per member and spell greeted: its primary key makes the greeting
-- and the bonus happen once a spell.
--
-- accounts.tier_review_at is, in a programme with a rolling tier window,
-- when the oldest entry that added qualifying points leaves the window
-- (NULL: nothing to review). Post lowers it when an entry adds qualifying
-- points; the tier review job recomputes the qualifying points and the
-- tier then, and moves it on.
--
-- vouchers.lapsed_at is when passd took an unused voucher that passed its
-- expires_at off the card; the partial index holds the vouchers still to
-- lapse, by expiry.
ALTER TABLE members ADD COLUMN birthday_due_at timestamptz;
UPDATE members SET birthday_due_at = now() WHERE birthday <> '' AND erased_at IS NULL;
CREATE INDEX members_birthday_due ON members (birthday_due_at) WHERE birthday_due_at IS NOT NULL;

CREATE TABLE birthday_credits (
    member_id  text NOT NULL,
    year       integer NOT NULL,
    points     bigint NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (member_id, year)
);

ALTER TABLE members ADD COLUMN dormant_check_at timestamptz;
UPDATE members SET dormant_check_at = now() WHERE erased_at IS NULL;
CREATE INDEX members_dormant_check ON members (program, dormant_check_at) WHERE dormant_check_at IS NOT NULL;
ALTER TABLE accounts ADD COLUMN dormant_at timestamptz;

CREATE TABLE dormant_spells (
    member_id   text NOT NULL,
    spell_start timestamptz NOT NULL,
    points      bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (member_id, spell_start)
);

ALTER TABLE vouchers ADD COLUMN lapsed_at timestamptz;
CREATE INDEX vouchers_to_lapse ON vouchers (expires_at) WHERE status = 'unused' AND lapsed_at IS NULL;

ALTER TABLE accounts ADD COLUMN tier_review_at timestamptz;
CREATE INDEX accounts_tier_review ON accounts (tier_review_at) WHERE tier_review_at IS NOT NULL;

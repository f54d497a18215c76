-- A programme's campaigns: points multipliers over a time span, optionally
-- on some days of the week, some local hours and from a tier up (API.md
-- "Campaigns and automations"). Keep in step with 0014_campaigns.sqlite.sql.
-- multiplier is in tenths (20 = x2). days_of_week is a comma-separated list
-- of ISO days ('' = every day); local_from/local_to are minutes of the
-- programme's day, [from, to), to = 0 for all day. Ending a campaign sets
-- ends_at; rows are never deleted (history).
CREATE TABLE campaigns (
    id           text PRIMARY KEY,
    program      text NOT NULL REFERENCES programs (id),
    name         text NOT NULL,
    multiplier   integer NOT NULL CHECK (multiplier BETWEEN 11 AND 100),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    days_of_week text NOT NULL DEFAULT '',
    local_from   integer NOT NULL DEFAULT 0,
    local_to     integer NOT NULL DEFAULT 0,
    min_tier     text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
-- An earn looks up the campaigns of its programme that have not ended by
-- the sale's time: few rows, in this index.
CREATE INDEX campaigns_program_ends ON campaigns (program, ends_at);

-- A programme's campaigns. Keep in step with 0014_campaigns.postgres.sql,
-- which explains the columns. Times are integer unix microseconds (UTC).
CREATE TABLE campaigns (
    id           TEXT PRIMARY KEY,
    program      TEXT NOT NULL REFERENCES programs (id),
    name         TEXT NOT NULL,
    multiplier   INTEGER NOT NULL CHECK (multiplier BETWEEN 11 AND 100),
    starts_at    INTEGER NOT NULL,
    ends_at      INTEGER NOT NULL,
    days_of_week TEXT NOT NULL DEFAULT '',
    local_from   INTEGER NOT NULL DEFAULT 0,
    local_to     INTEGER NOT NULL DEFAULT 0,
    min_tier     TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX campaigns_program_ends ON campaigns (program, ends_at);

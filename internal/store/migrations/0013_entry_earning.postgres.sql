-- How an entry's points were reached, and when the sale happened (API.md
-- "Earning and spending"). Keep in step with 0013_entry_earning.sqlite.sql.
-- amount: an earn's purchase amount in minor units, NULL when it gave
-- points. base_points NULL and occurred_at NULL mark entries written before
-- this migration: they read as points and created_at, so no row is
-- rewritten. bonus_points + base_points = points.
ALTER TABLE entries ADD COLUMN amount bigint;
ALTER TABLE entries ADD COLUMN base_points bigint;
ALTER TABLE entries ADD COLUMN bonus_points bigint NOT NULL DEFAULT 0;
ALTER TABLE entries ADD COLUMN campaign_id text NOT NULL DEFAULT '';
ALTER TABLE entries ADD COLUMN occurred_at timestamptz;

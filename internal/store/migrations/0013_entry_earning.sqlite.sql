-- How an entry's points were reached, and when the sale happened. Keep in
-- step with 0013_entry_earning.postgres.sql, which explains the columns.
ALTER TABLE entries ADD COLUMN amount INTEGER;
ALTER TABLE entries ADD COLUMN base_points INTEGER;
ALTER TABLE entries ADD COLUMN bonus_points INTEGER NOT NULL DEFAULT 0;
ALTER TABLE entries ADD COLUMN campaign_id TEXT NOT NULL DEFAULT '';
ALTER TABLE entries ADD COLUMN occurred_at INTEGER;

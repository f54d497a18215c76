-- A member's last activity: the time of the latest ledger entry, or of the
-- enrolment before any. Post sets it in the account UPDATE it runs anyway,
-- so the hot path keeps its statements. The member search's inactive_days
-- reads it. Keep in step with 0011_last_activity.postgres.sql.
ALTER TABLE accounts ADD COLUMN last_activity_at INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET last_activity_at = COALESCE(
    (SELECT max(e.created_at) FROM entries e WHERE e.member_id = accounts.member_id),
    (SELECT m.created_at FROM members m WHERE m.id = accounts.member_id));

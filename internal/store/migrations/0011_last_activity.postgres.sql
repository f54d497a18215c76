-- A member's last activity: the time of the latest ledger entry, or of the
-- enrolment before any. Post sets it in the account UPDATE it runs anyway,
-- so the hot path keeps its statements and round trips. The member
-- search's inactive_days reads it. Keep in step with
-- 0011_last_activity.sqlite.sql.
--
-- The default covers an account inserted by an earlier passd version
-- during a rolling upgrade: it was created now.
ALTER TABLE accounts ADD COLUMN last_activity_at timestamptz;
UPDATE accounts a SET last_activity_at = COALESCE(
    (SELECT max(e.created_at) FROM entries e WHERE e.member_id = a.member_id), m.created_at)
FROM members m WHERE m.id = a.member_id;
ALTER TABLE accounts ALTER COLUMN last_activity_at SET DEFAULT now();
ALTER TABLE accounts ALTER COLUMN last_activity_at SET NOT NULL;

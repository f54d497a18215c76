-- A programme change that moves its tier rules has every live member's
-- tier reviewed. Keep in step with 0028_tier_rules_review.postgres.sql,
-- which says how. Times are unix microseconds.
ALTER TABLE programs ADD COLUMN tiers_review_at INTEGER;

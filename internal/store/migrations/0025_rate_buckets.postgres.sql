-- Rate-limit buckets (internal/ratelimit): one token bucket per key (a
-- limiter's name and what it counts: an API key, a client address, a
-- programme), shared by every instance and kept across restarts. at_us is
-- the bucket's last refill in Unix microseconds, 0 for a bucket just made.
-- Keep in step with 0025_rate_buckets.sqlite.sql.
CREATE TABLE rate_buckets (
    key    text PRIMARY KEY,
    tokens double precision NOT NULL,
    at_us  bigint NOT NULL
);
CREATE INDEX rate_buckets_at ON rate_buckets (at_us);

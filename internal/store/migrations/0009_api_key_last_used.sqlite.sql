-- See 0009_api_key_last_used.postgres.sql. Unix microseconds (UTC).
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;

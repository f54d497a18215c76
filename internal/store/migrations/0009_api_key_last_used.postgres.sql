-- When an API key last authenticated a request (GET /api/v1/apikeys), kept
-- to the minute: store.TouchAPIKey writes at most once a minute per key.
-- Keep in step with 0009_api_key_last_used.sqlite.sql.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;

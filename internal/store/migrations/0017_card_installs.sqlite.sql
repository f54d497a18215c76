-- Whether a member's card is in a wallet, as the wallet last told passd
-- (Google's save and delete callbacks), and the nonces of the Google
-- callbacks already handled: Google retries deliveries, so one event can
-- arrive more than once. Keep in step with 0017_card_installs.postgres.sql.
CREATE TABLE card_installs (
    member_id  TEXT NOT NULL REFERENCES members (id),
    wallet     TEXT NOT NULL,
    installed  INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (member_id, wallet)
) STRICT;

CREATE TABLE google_callback_nonces (
    nonce   TEXT PRIMARY KEY,
    seen_at INTEGER NOT NULL
) STRICT;
CREATE INDEX google_callback_nonces_seen_at ON google_callback_nonces (seen_at);

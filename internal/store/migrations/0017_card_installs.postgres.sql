-- Whether a member's card is in a wallet, as the wallet last told passd
-- (Google's save and delete callbacks), and the nonces of the Google
-- callbacks already handled: Google retries deliveries, so one event can
-- arrive more than once. Keep in step with 0017_card_installs.sqlite.sql.
CREATE TABLE card_installs (
    member_id  text NOT NULL REFERENCES members (id),
    wallet     text NOT NULL,
    installed  boolean NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (member_id, wallet)
);

CREATE TABLE google_callback_nonces (
    nonce   text PRIMARY KEY,
    seen_at timestamptz NOT NULL
);
CREATE INDEX google_callback_nonces_seen_at ON google_callback_nonces (seen_at);

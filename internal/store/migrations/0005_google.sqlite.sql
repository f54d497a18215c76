-- Google Wallet: what the google channel of the sync engine has delivered of
-- a card besides the loyalty object's fields (internal/cardsync/google.go).
-- Keep in step with 0005_google.postgres.sql. Times are unix microseconds.

-- One row per member whose card reached Google once.
CREATE TABLE google_cards (
    member_id      TEXT PRIMARY KEY REFERENCES members (id),
    inserted       INTEGER NOT NULL DEFAULT 0, -- the loyalty object exists at Google
    message_at     INTEGER,                    -- posting time of the last program message handled
    tier_event_seq INTEGER NOT NULL DEFAULT 0, -- events.seq of the last tier_changed event handled
    updated_at     INTEGER NOT NULL
) STRICT;

-- Push notifications sent to a card, for Google's 3 per card per 24 h.
CREATE TABLE google_notifications (
    member_id TEXT NOT NULL REFERENCES members (id),
    sent_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX google_notifications_member ON google_notifications (member_id, sent_at);

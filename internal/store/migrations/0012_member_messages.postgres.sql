-- A member's own merchant message (POST /api/v1/members/{id}/messages, or
-- a program message sent to the member's tier) and when it was posted.
-- The card shows the newer of it and the program's message. Erasure
-- clears it. Keep in step with 0012_member_messages.sqlite.sql.
ALTER TABLE members ADD COLUMN message text NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN message_at timestamptz;

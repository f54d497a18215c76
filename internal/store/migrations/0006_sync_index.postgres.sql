-- The sync engine claims due cards oldest due first, ties broken by member:
-- ORDER BY next_attempt_at, member_id (store.ClaimDue). card_sync_due had
-- no member_id, so a program-wide change (every card due at the same time)
-- made each claim sort every due row. This index answers the claim in
-- order, reading only the rows it claims.
--
-- PostgreSQL only: SQLite breaks ties by rowid, which ends every entry of
-- card_sync_due already, so its claim needs no new index.
CREATE INDEX card_sync_claim ON card_sync (channel, next_attempt_at, member_id)
    WHERE wanted_version > synced_version AND state <> 'error';
DROP INDEX card_sync_due;

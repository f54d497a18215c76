-- The PassKit web service's "updated since" tag (store.UpdatedSerials).
-- update_seq comes from a sequence drawn before commit, so on PostgreSQL
-- changes can become visible out of sequence order and a device asking in
-- between skipped the earlier one. update_xid is the id of the transaction
-- that last marked the card changed; the tag becomes the xmin of the
-- asking query's snapshot, which no change that query missed is below.
--
-- Rows not changed since this migration keep NULL: they are older than
-- every tag of the new form, and a tag of the old form answers every card.
-- New rows take the inserting transaction's id from the default; passd's
-- UPDATEs set the column themselves.
--
-- The trigger covers a writer that bumps update_seq without setting
-- update_xid: an instance of an earlier passd version still running during
-- a rolling upgrade. Its WHEN clause is evaluated without calling the
-- function, so passd's own writes do not pay for it. It can be dropped once
-- no earlier version can write to the database.
--
-- PostgreSQL only: SQLite has one writer at a time and bumps its counter
-- inside the write transaction, so its update_seq order is commit order.
ALTER TABLE accounts ADD COLUMN update_xid xid8;
ALTER TABLE accounts ALTER COLUMN update_xid SET DEFAULT pg_current_xact_id();

CREATE FUNCTION accounts_set_update_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.update_xid := pg_current_xact_id();
    RETURN NEW;
END
$$;

CREATE TRIGGER accounts_update_xid BEFORE UPDATE OF update_seq ON accounts
    FOR EACH ROW WHEN (NEW.update_xid IS NOT DISTINCT FROM OLD.update_xid)
    EXECUTE FUNCTION accounts_set_update_xid();

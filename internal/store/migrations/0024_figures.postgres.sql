-- Programme figures (GET /api/v1/programs/{program}/stats, the console's
-- dashboard) without scanning the ledger. Keep in step with
-- 0024_figures.sqlite.sql.
--
-- Every write that moves a figure (an enrolment, a ledger entry, an
-- erasure, a member's last activity changing hour, a voucher issued or
-- used, a card installed or removed) appends one row to figure_deltas in
-- its own transaction, by the triggers below. Appending takes no lock
-- another till waits for: earns of a busy programme never queue on one
-- counter row. Off the request path, the figures job (store.FoldFigures)
-- moves the deltas into program_hours (the figures of a window, per UTC
-- hour: a day of any whole-hour timezone is a run of hours) and
-- program_totals (the figures of now), deleting them in the same
-- statement. A read sums the folded rows and the deltas still waiting in
-- one snapshot, so it is exact at any moment.
--
-- What the columns count:
--   members          live members (+1 enrolment, -1 erasure)
--   enrolled         enrolments, at the hour of enrolment
--   active           members whose last activity is in that hour (a change
--                    of hour is -1 at the old hour and +1 at the new one),
--                    so the members active since T are the sum from T on
--   issued           points given: entries with positive points, but expiry
--   redeemed         points spent on redemptions
--   expired          points expired
--   outstanding      the sum of live members' balances (every balance is
--                    the sum of its entries; an erasure takes its balance off)
--   vouchers_issued, vouchers_used
--   apple            members with at least one device registration
--   google           members whose Google card is saved
-- Points are at the hour of the sale (occurred_at), the rest at the hour
-- of the write. An all-time figure's delta may carry any hour.
CREATE TABLE figure_deltas (
    id              bigserial PRIMARY KEY,
    program         text NOT NULL,
    hour            bigint NOT NULL,
    members         bigint NOT NULL DEFAULT 0,
    enrolled        bigint NOT NULL DEFAULT 0,
    active          bigint NOT NULL DEFAULT 0,
    issued          bigint NOT NULL DEFAULT 0,
    redeemed        bigint NOT NULL DEFAULT 0,
    expired         bigint NOT NULL DEFAULT 0,
    outstanding     bigint NOT NULL DEFAULT 0,
    vouchers_issued bigint NOT NULL DEFAULT 0,
    vouchers_used   bigint NOT NULL DEFAULT 0,
    apple           bigint NOT NULL DEFAULT 0,
    google          bigint NOT NULL DEFAULT 0
);

CREATE TABLE program_hours (
    program         text NOT NULL,
    hour            bigint NOT NULL,
    enrolled        bigint NOT NULL DEFAULT 0,
    active          bigint NOT NULL DEFAULT 0,
    issued          bigint NOT NULL DEFAULT 0,
    redeemed        bigint NOT NULL DEFAULT 0,
    expired         bigint NOT NULL DEFAULT 0,
    vouchers_issued bigint NOT NULL DEFAULT 0,
    vouchers_used   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (program, hour)
);

CREATE TABLE program_totals (
    program     text PRIMARY KEY,
    members     bigint NOT NULL DEFAULT 0,
    outstanding bigint NOT NULL DEFAULT 0,
    apple       bigint NOT NULL DEFAULT 0,
    google      bigint NOT NULL DEFAULT 0
);

-- Unix hours do not depend on the session's timezone.
CREATE FUNCTION figures_hour(t timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT floor(extract(epoch FROM t) / 3600)::bigint $$;

CREATE FUNCTION figures_member_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO figure_deltas (program, hour, members, enrolled)
    VALUES (NEW.program, figures_hour(NEW.created_at), CASE WHEN NEW.erased_at IS NULL THEN 1 ELSE 0 END, 1);
    RETURN NULL;
END
$$;
CREATE TRIGGER figures_member_insert AFTER INSERT ON members
    FOR EACH ROW EXECUTE FUNCTION figures_member_insert();

CREATE FUNCTION figures_account_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO figure_deltas (program, hour, active)
    SELECT m.program, figures_hour(NEW.last_activity_at), 1 FROM members m WHERE m.id = NEW.member_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER figures_account_insert AFTER INSERT ON accounts
    FOR EACH ROW WHEN (NOT NEW.erased) EXECUTE FUNCTION figures_account_insert();

-- An erasure takes the member, the balance and the last activity off; a
-- live member's activity moving to another hour moves its count. Entries
-- move the balance (figures_entry_insert), so a plain earn's UPDATE only
-- pays for the WHEN clause.
CREATE FUNCTION figures_account_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p text;
BEGIN
    SELECT m.program INTO p FROM members m WHERE m.id = NEW.member_id;
    IF NEW.erased THEN
        INSERT INTO figure_deltas (program, hour, members, outstanding, active)
        VALUES (p, figures_hour(OLD.last_activity_at), -1, -OLD.points, -1);
    ELSE
        INSERT INTO figure_deltas (program, hour, active)
        VALUES (p, figures_hour(OLD.last_activity_at), -1), (p, figures_hour(NEW.last_activity_at), 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER figures_account_update AFTER UPDATE ON accounts
    FOR EACH ROW WHEN (NOT OLD.erased AND (NEW.erased OR
        figures_hour(NEW.last_activity_at) <> figures_hour(OLD.last_activity_at)))
    EXECUTE FUNCTION figures_account_update();

CREATE FUNCTION figures_entry_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO figure_deltas (program, hour, issued, redeemed, expired, outstanding)
    SELECT m.program, figures_hour(COALESCE(NEW.occurred_at, NEW.created_at)),
        CASE WHEN NEW.points > 0 AND NEW.type <> 'expire' THEN NEW.points ELSE 0 END,
        CASE WHEN NEW.type = 'redeem' THEN -NEW.points ELSE 0 END,
        CASE WHEN NEW.type = 'expire' THEN -NEW.points ELSE 0 END,
        CASE WHEN m.erased_at IS NULL THEN NEW.points ELSE 0 END
    FROM members m WHERE m.id = NEW.member_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER figures_entry_insert AFTER INSERT ON entries
    FOR EACH ROW WHEN (NEW.points <> 0) EXECUTE FUNCTION figures_entry_insert();

CREATE FUNCTION figures_voucher_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO figure_deltas (program, hour, vouchers_issued) VALUES (NEW.program, figures_hour(NEW.created_at), 1);
    RETURN NULL;
END
$$;
CREATE TRIGGER figures_voucher_insert AFTER INSERT ON vouchers
    FOR EACH ROW EXECUTE FUNCTION figures_voucher_insert();

CREATE FUNCTION figures_voucher_used() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO figure_deltas (program, hour, vouchers_used)
    VALUES (NEW.program, figures_hour(COALESCE(NEW.used_at, now())), 1);
    RETURN NULL;
END
$$;
CREATE TRIGGER figures_voucher_used AFTER UPDATE OF status ON vouchers
    FOR EACH ROW WHEN (NEW.status = 'used' AND OLD.status <> 'used') EXECUTE FUNCTION figures_voucher_used();

-- Apple cards are counted per member, not per device: statement triggers
-- see every row a statement added or removed (a push token's rows go in
-- one DELETE), and count a member once when its first registration comes
-- or its last one goes.
CREATE FUNCTION figures_registrations_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO figure_deltas (program, hour, apple)
    SELECT m.program, figures_hour(now()), 1
    FROM (SELECT DISTINCT member_id FROM added) a JOIN members m ON m.id = a.member_id
    WHERE (SELECT count(*) FROM registrations r WHERE r.member_id = a.member_id)
        = (SELECT count(*) FROM added n WHERE n.member_id = a.member_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER figures_registrations_added AFTER INSERT ON registrations
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION figures_registrations_added();

CREATE FUNCTION figures_registrations_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO figure_deltas (program, hour, apple)
    SELECT m.program, figures_hour(now()), -1
    FROM (SELECT DISTINCT member_id FROM removed) g JOIN members m ON m.id = g.member_id
    WHERE NOT EXISTS (SELECT 1 FROM registrations r WHERE r.member_id = g.member_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER figures_registrations_removed AFTER DELETE ON registrations
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION figures_registrations_removed();

CREATE FUNCTION figures_google_install() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO figure_deltas (program, hour, google)
        SELECT m.program, figures_hour(NEW.updated_at), 1 FROM members m WHERE m.id = NEW.member_id;
    ELSE
        INSERT INTO figure_deltas (program, hour, google)
        SELECT m.program, figures_hour(NEW.updated_at), CASE WHEN NEW.installed THEN 1 ELSE -1 END
        FROM members m WHERE m.id = NEW.member_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER figures_google_installed AFTER INSERT ON card_installs
    FOR EACH ROW WHEN (NEW.wallet = 'google' AND NEW.installed) EXECUTE FUNCTION figures_google_install();
CREATE TRIGGER figures_google_changed AFTER UPDATE ON card_installs
    FOR EACH ROW WHEN (NEW.wallet = 'google' AND NEW.installed <> OLD.installed) EXECUTE FUNCTION figures_google_install();

-- The figures of what is already there.
INSERT INTO program_totals (program, members, outstanding)
SELECT m.program, count(*), COALESCE(sum(a.points), 0)
FROM members m JOIN accounts a ON a.member_id = m.id
WHERE m.erased_at IS NULL AND NOT a.erased
GROUP BY m.program;
INSERT INTO program_totals AS t (program, apple)
SELECT m.program, count(DISTINCT r.member_id) FROM registrations r JOIN members m ON m.id = r.member_id GROUP BY m.program
ON CONFLICT (program) DO UPDATE SET apple = EXCLUDED.apple;
INSERT INTO program_totals AS t (program, google)
SELECT m.program, count(*) FROM card_installs c JOIN members m ON m.id = c.member_id
WHERE c.wallet = 'google' AND c.installed GROUP BY m.program
ON CONFLICT (program) DO UPDATE SET google = EXCLUDED.google;

INSERT INTO program_hours (program, hour, enrolled, active, issued, redeemed, expired, vouchers_issued, vouchers_used)
SELECT program, hour, sum(enrolled), sum(active), sum(issued), sum(redeemed), sum(expired), sum(vouchers_issued), sum(vouchers_used)
FROM (
    SELECT program, figures_hour(created_at) AS hour, 1 AS enrolled, 0 AS active, 0 AS issued, 0 AS redeemed, 0 AS expired,
        0 AS vouchers_issued, 0 AS vouchers_used
    FROM members
    UNION ALL
    SELECT m.program, figures_hour(a.last_activity_at), 0, 1, 0, 0, 0, 0, 0
    FROM accounts a JOIN members m ON m.id = a.member_id WHERE NOT a.erased
    UNION ALL
    SELECT m.program, figures_hour(COALESCE(e.occurred_at, e.created_at)), 0, 0,
        CASE WHEN e.points > 0 AND e.type <> 'expire' THEN e.points ELSE 0 END,
        CASE WHEN e.type = 'redeem' THEN -e.points ELSE 0 END,
        CASE WHEN e.type = 'expire' THEN -e.points ELSE 0 END, 0, 0
    FROM entries e JOIN members m ON m.id = e.member_id WHERE e.points <> 0
    UNION ALL
    SELECT program, figures_hour(created_at), 0, 0, 0, 0, 0, 1, 0 FROM vouchers
    UNION ALL
    SELECT program, figures_hour(used_at), 0, 0, 0, 0, 0, 0, 1 FROM vouchers WHERE status = 'used' AND used_at IS NOT NULL
) f
GROUP BY program, hour;

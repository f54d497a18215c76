-- Programme figures. Keep in step with 0024_figures.postgres.sql, which
-- explains the tables and what each column counts. Hours are unix hours
-- (times are unix microseconds, so t / 3600000000).
CREATE TABLE figure_deltas (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    program         TEXT NOT NULL,
    hour            INTEGER NOT NULL,
    members         INTEGER NOT NULL DEFAULT 0,
    enrolled        INTEGER NOT NULL DEFAULT 0,
    active          INTEGER NOT NULL DEFAULT 0,
    issued          INTEGER NOT NULL DEFAULT 0,
    redeemed        INTEGER NOT NULL DEFAULT 0,
    expired         INTEGER NOT NULL DEFAULT 0,
    outstanding     INTEGER NOT NULL DEFAULT 0,
    vouchers_issued INTEGER NOT NULL DEFAULT 0,
    vouchers_used   INTEGER NOT NULL DEFAULT 0,
    apple           INTEGER NOT NULL DEFAULT 0,
    google          INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE program_hours (
    program         TEXT NOT NULL,
    hour            INTEGER NOT NULL,
    enrolled        INTEGER NOT NULL DEFAULT 0,
    active          INTEGER NOT NULL DEFAULT 0,
    issued          INTEGER NOT NULL DEFAULT 0,
    redeemed        INTEGER NOT NULL DEFAULT 0,
    expired         INTEGER NOT NULL DEFAULT 0,
    vouchers_issued INTEGER NOT NULL DEFAULT 0,
    vouchers_used   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (program, hour)
) STRICT;

CREATE TABLE program_totals (
    program     TEXT PRIMARY KEY,
    members     INTEGER NOT NULL DEFAULT 0,
    outstanding INTEGER NOT NULL DEFAULT 0,
    apple       INTEGER NOT NULL DEFAULT 0,
    google      INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TRIGGER figures_member_insert AFTER INSERT ON members
BEGIN
    INSERT INTO figure_deltas (program, hour, members, enrolled)
    VALUES (NEW.program, NEW.created_at / 3600000000, NEW.erased_at IS NULL, 1);
END;

CREATE TRIGGER figures_account_insert AFTER INSERT ON accounts WHEN NOT NEW.erased
BEGIN
    INSERT INTO figure_deltas (program, hour, active)
    SELECT program, NEW.last_activity_at / 3600000000, 1 FROM members WHERE id = NEW.member_id;
END;

CREATE TRIGGER figures_account_erase AFTER UPDATE ON accounts WHEN NEW.erased AND NOT OLD.erased
BEGIN
    INSERT INTO figure_deltas (program, hour, members, outstanding, active)
    SELECT program, OLD.last_activity_at / 3600000000, -1, -OLD.points, -1 FROM members WHERE id = NEW.member_id;
END;

CREATE TRIGGER figures_account_active AFTER UPDATE ON accounts
    WHEN NOT NEW.erased AND NOT OLD.erased AND NEW.last_activity_at / 3600000000 <> OLD.last_activity_at / 3600000000
BEGIN
    INSERT INTO figure_deltas (program, hour, active)
    SELECT program, OLD.last_activity_at / 3600000000, -1 FROM members WHERE id = NEW.member_id;
    INSERT INTO figure_deltas (program, hour, active)
    SELECT program, NEW.last_activity_at / 3600000000, 1 FROM members WHERE id = NEW.member_id;
END;

CREATE TRIGGER figures_entry_insert AFTER INSERT ON entries WHEN NEW.points <> 0
BEGIN
    INSERT INTO figure_deltas (program, hour, issued, redeemed, expired, outstanding)
    SELECT program, COALESCE(NEW.occurred_at, NEW.created_at) / 3600000000,
        CASE WHEN NEW.points > 0 AND NEW.type <> 'expire' THEN NEW.points ELSE 0 END,
        CASE WHEN NEW.type = 'redeem' THEN -NEW.points ELSE 0 END,
        CASE WHEN NEW.type = 'expire' THEN -NEW.points ELSE 0 END,
        CASE WHEN erased_at IS NULL THEN NEW.points ELSE 0 END
    FROM members WHERE id = NEW.member_id;
END;

CREATE TRIGGER figures_voucher_insert AFTER INSERT ON vouchers
BEGIN
    INSERT INTO figure_deltas (program, hour, vouchers_issued) VALUES (NEW.program, NEW.created_at / 3600000000, 1);
END;

CREATE TRIGGER figures_voucher_used AFTER UPDATE OF status ON vouchers WHEN NEW.status = 'used' AND OLD.status <> 'used'
BEGIN
    INSERT INTO figure_deltas (program, hour, vouchers_used)
    VALUES (NEW.program, COALESCE(NEW.used_at, unixepoch() * 1000000) / 3600000000, 1);
END;

-- Row triggers run right after each row here, so "the first" and "the
-- last" registration of a member are seen one row at a time.
CREATE TRIGGER figures_registration_added AFTER INSERT ON registrations
    WHEN NOT EXISTS (SELECT 1 FROM registrations r WHERE r.member_id = NEW.member_id
        AND (r.device_id <> NEW.device_id OR r.pass_type_id <> NEW.pass_type_id))
BEGIN
    INSERT INTO figure_deltas (program, hour, apple)
    SELECT program, NEW.created_at / 3600000000, 1 FROM members WHERE id = NEW.member_id;
END;

CREATE TRIGGER figures_registration_removed AFTER DELETE ON registrations
    WHEN NOT EXISTS (SELECT 1 FROM registrations r WHERE r.member_id = OLD.member_id)
BEGIN
    INSERT INTO figure_deltas (program, hour, apple)
    SELECT program, unixepoch() / 3600, -1 FROM members WHERE id = OLD.member_id;
END;

CREATE TRIGGER figures_google_installed AFTER INSERT ON card_installs WHEN NEW.wallet = 'google' AND NEW.installed
BEGIN
    INSERT INTO figure_deltas (program, hour, google)
    SELECT program, NEW.updated_at / 3600000000, 1 FROM members WHERE id = NEW.member_id;
END;

CREATE TRIGGER figures_google_changed AFTER UPDATE ON card_installs
    WHEN NEW.wallet = 'google' AND NEW.installed <> OLD.installed
BEGIN
    INSERT INTO figure_deltas (program, hour, google)
    SELECT program, NEW.updated_at / 3600000000, CASE WHEN NEW.installed THEN 1 ELSE -1 END
    FROM members WHERE id = NEW.member_id;
END;

INSERT INTO program_totals (program, members, outstanding, apple, google)
SELECT m.program, count(*), COALESCE(sum(a.points), 0),
    (SELECT count(DISTINCT r.member_id) FROM registrations r JOIN members x ON x.id = r.member_id WHERE x.program = m.program),
    (SELECT count(*) FROM card_installs c JOIN members x ON x.id = c.member_id
        WHERE x.program = m.program AND c.wallet = 'google' AND c.installed)
FROM members m JOIN accounts a ON a.member_id = m.id
WHERE m.erased_at IS NULL AND NOT a.erased
GROUP BY m.program;

INSERT INTO program_hours (program, hour, enrolled, active, issued, redeemed, expired, vouchers_issued, vouchers_used)
SELECT program, hour, sum(enrolled), sum(active), sum(issued), sum(redeemed), sum(expired), sum(vouchers_issued), sum(vouchers_used)
FROM (
    SELECT program, created_at / 3600000000 AS hour, 1 AS enrolled, 0 AS active, 0 AS issued, 0 AS redeemed, 0 AS expired,
        0 AS vouchers_issued, 0 AS vouchers_used
    FROM members
    UNION ALL
    SELECT m.program, a.last_activity_at / 3600000000, 0, 1, 0, 0, 0, 0, 0
    FROM accounts a JOIN members m ON m.id = a.member_id WHERE NOT a.erased
    UNION ALL
    SELECT m.program, COALESCE(e.occurred_at, e.created_at) / 3600000000, 0, 0,
        CASE WHEN e.points > 0 AND e.type <> 'expire' THEN e.points ELSE 0 END,
        CASE WHEN e.type = 'redeem' THEN -e.points ELSE 0 END,
        CASE WHEN e.type = 'expire' THEN -e.points ELSE 0 END, 0, 0
    FROM entries e JOIN members m ON m.id = e.member_id WHERE e.points <> 0
    UNION ALL
    SELECT program, created_at / 3600000000, 0, 0, 0, 0, 0, 1, 0 FROM vouchers
    UNION ALL
    SELECT program, used_at / 3600000000, 0, 0, 0, 0, 0, 0, 1 FROM vouchers WHERE status = 'used' AND used_at IS NOT NULL
) f
GROUP BY program, hour;

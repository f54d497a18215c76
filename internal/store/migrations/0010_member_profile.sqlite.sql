-- Members part two: the marketing consent and the member search.
-- Keep in step with 0010_member_profile.postgres.sql.
--
-- marketing_opt_in is the member's current answer; consents keeps every
-- answer with its time and source (the export lists them).
--
-- name_lc and email_lc are lower-cased copies of name and email, written by
-- the store (Go's Unicode lower-casing) whenever it writes the originals,
-- so a case-insensitive prefix search is a range on an index, the same on
-- both stores. Rows written before this migration are
-- lower-cased here by lower(), which may fold ASCII only, and then by the
-- Go step of this migration (lowerCaseProfiles in migrate.go), as the
-- store lower-cases.
ALTER TABLE members ADD COLUMN marketing_opt_in INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN name_lc TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN email_lc TEXT NOT NULL DEFAULT '';
UPDATE members SET name_lc = lower(name), email_lc = lower(email);

-- The search answers the newest members first; each filter is a range on
-- its own index, erased members left out.
CREATE INDEX members_created ON members (program, created_at, id) WHERE erased_at IS NULL;
CREATE INDEX members_name_lc ON members (program, name_lc) WHERE erased_at IS NULL;
CREATE INDEX members_email_lc ON members (program, email_lc) WHERE erased_at IS NULL;
CREATE INDEX members_program_number ON members (program, number) WHERE erased_at IS NULL;

CREATE TABLE consents (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id  TEXT NOT NULL REFERENCES members (id),
    opt_in     INTEGER NOT NULL,
    source     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX consents_member ON consents (member_id, seq);

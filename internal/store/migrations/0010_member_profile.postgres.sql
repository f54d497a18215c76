-- Members part two: the marketing consent and the member search.
-- Keep in step with 0010_member_profile.sqlite.sql.
--
-- marketing_opt_in is the member's current answer; consents keeps every
-- answer with its time and source (the export lists them).
--
-- name_lc and email_lc are lower-cased copies of name and email, written by
-- the store (Go's Unicode lower-casing) whenever it writes the originals,
-- so a case-insensitive prefix search is a range on an index, the same on
-- both stores. They compare byte by byte (COLLATE "C"), as SQLite does,
-- whatever the database's collation: the range bounds the store computes
-- mean the same on both. Rows written before this migration are
-- lower-cased here by lower(), which may fold ASCII only, and then by the
-- Go step of this migration (lowerCaseProfiles in migrate.go), as the
-- store lower-cases.
ALTER TABLE members ADD COLUMN marketing_opt_in boolean NOT NULL DEFAULT false;
ALTER TABLE members ADD COLUMN name_lc text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN email_lc text COLLATE "C" NOT NULL DEFAULT '';
UPDATE members SET name_lc = lower(name), email_lc = lower(email);

-- The search answers the newest members first; each filter is a range on
-- its own index, erased members left out. number is compared in "C" too.
CREATE INDEX members_created ON members (program, created_at, id) WHERE erased_at IS NULL;
CREATE INDEX members_name_lc ON members (program, name_lc) WHERE erased_at IS NULL;
CREATE INDEX members_email_lc ON members (program, email_lc) WHERE erased_at IS NULL;
CREATE INDEX members_program_number ON members (program, number COLLATE "C") WHERE erased_at IS NULL;

CREATE TABLE consents (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id  text NOT NULL REFERENCES members (id),
    opt_in     boolean NOT NULL,
    source     text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX consents_member ON consents (member_id, seq);

-- Programmes are data (DESIGN.md "Programmes are data"): a versioned row
-- per programme, edited through the API; templates only seed it. The
-- definition is the domain's JSON, opaque to the store. Keep in step with
-- 0008_programs.sqlite.sql.
--
-- A change raises the version at once but reaches the cards in batches
-- (store.MarkProgramCards), so that 100,000 cards never take one
-- transaction that blocks tills: cards_marked_version is the version every
-- live card was marked for, and cards_cursor the last member id marked for
-- the current version while a marking runs ('' before the first batch).
-- google_class_version is the version last delivered to the programme's
-- Google Wallet class.
CREATE TABLE programs (
    id                   text PRIMARY KEY,
    version              bigint NOT NULL CHECK (version >= 1),
    definition           text NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    cards_marked_version bigint NOT NULL DEFAULT 0,
    cards_cursor         text NOT NULL DEFAULT '',
    google_class_version bigint NOT NULL DEFAULT 0
);

-- A programme's card images (icon, logo, strip, their @2x/@3x, strip-{tier}).
CREATE TABLE program_images (
    program    text NOT NULL REFERENCES programs (id),
    name       text NOT NULL,
    png        bytea NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (program, name)
);

-- The marking walks a programme's live members in id order, a batch at a
-- time: this index answers each batch reading only its rows, and still
-- answers what members_program did.
CREATE INDEX members_program_id ON members (program, id) WHERE erased_at IS NULL;
DROP INDEX members_program;

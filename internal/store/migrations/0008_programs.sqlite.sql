-- Programmes are data. Keep in step with 0008_programs.postgres.sql, which
-- explains the choices. Times are integer unix microseconds (UTC).
CREATE TABLE programs (
    id                   TEXT PRIMARY KEY,
    version              INTEGER NOT NULL CHECK (version >= 1),
    definition           TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    cards_marked_version INTEGER NOT NULL DEFAULT 0,
    cards_cursor         TEXT NOT NULL DEFAULT '',
    google_class_version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE program_images (
    program    TEXT NOT NULL REFERENCES programs (id),
    name       TEXT NOT NULL,
    png        BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (program, name)
) STRICT;

CREATE INDEX members_program_id ON members (program, id) WHERE erased_at IS NULL;
DROP INDEX members_program;

-- Known advisories, offline (`mcpfw advisories update`): OSV records for npm and PyPI, one row
-- per record and package it affects, reduced to what matching that package needs.
-- crates/store/src/advisories.rs reads and writes them.
CREATE TABLE advisories (
    id        TEXT NOT NULL,
    -- 'npm' or 'pypi' (mcpfw_core::package::Ecosystem).
    ecosystem TEXT NOT NULL,
    -- The package's name (PyPI names normalised).
    package   TEXT NOT NULL,
    -- The record's `modified` time, as OSV gives it (RFC 3339).
    modified  TEXT NOT NULL,
    -- mcpfw_core::package::osv::Record, JSON.
    record    TEXT NOT NULL CHECK (json_valid(record)),
    PRIMARY KEY (ecosystem, package, id)
) STRICT;
-- Each import: where from, when, how many records; the newest is the data's age.
CREATE TABLE advisory_imports (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source          TEXT    NOT NULL,
    imported_ms     INTEGER NOT NULL,
    records         INTEGER NOT NULL,
    newest_modified TEXT
) STRICT;

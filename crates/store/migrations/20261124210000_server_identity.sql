-- The identity each server was first seen with (trust on first use): what it calls itself
-- (`serverInfo`), the program that runs it and that program's SHA-256. A later start with a
-- different identity is flagged in the history. src/store/pins.rs reads and writes it.
CREATE TABLE server_identity (
    server        TEXT    NOT NULL PRIMARY KEY,
    -- JSON: {"name", "version", "program", "program_sha256", "script", "script_sha256"}.
    identity      TEXT    NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    changed_ms    INTEGER NOT NULL
) STRICT;

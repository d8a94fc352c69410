-- Tool pinning (trust on first use): the definition of each tool the user trusts, per server.
-- A tool whose definition no longer matches its pin is withheld from the client until the
-- user trusts the new definition (`mcpfw tools trust`) — the defence against a "rug pull".
-- src/store/pins.rs reads and writes this table.
CREATE TABLE tool_pins (
    server             TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    -- SHA-256 (hex) of the trusted definition's canonical JSON (object keys sorted, no spaces).
    digest             TEXT    NOT NULL,
    -- The trusted definition, canonical JSON.
    definition         TEXT    NOT NULL,
    -- 'trusted': the server's definition matches the pin; 'changed': it does not, and the new
    -- definition waits for the user; 'blocked': the user refused the new definition.
    status             TEXT    NOT NULL CHECK (status IN ('trusted', 'changed', 'blocked')),
    -- The definition the server sends now, when it differs from the pin.
    pending_digest     TEXT,
    pending_definition TEXT,
    first_seen_ms      INTEGER NOT NULL,
    changed_ms         INTEGER NOT NULL,
    PRIMARY KEY (server, name)
) STRICT;

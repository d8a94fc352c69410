-- Package pins (trust on first use): the package each stdio server runs (npm, PyPI, an image,
-- or a file), as it resolved the first time. A later start whose package resolves to another
-- version or content is a change: the server's tools are withheld until the user trusts it
-- (`mcpfw tools trust SERVER --package`). crates/store/src/packages.rs reads and writes it.
CREATE TABLE package_pins (
    server           TEXT    NOT NULL PRIMARY KEY,
    -- SHA-256 (hex) of what is compared: ecosystem, name, resolved version, integrity
    -- (mcpfw_core::package::Identity::digest).
    digest           TEXT    NOT NULL,
    -- The trusted identity, JSON (mcpfw_core::package::Identity).
    identity         TEXT    NOT NULL CHECK (json_valid(identity)),
    -- 'trusted': the package matches the pin; 'changed': it does not, and waits for the user;
    -- 'blocked': the user refused the change.
    status           TEXT    NOT NULL CHECK (status IN ('trusted', 'changed', 'blocked')),
    pending_digest   TEXT,
    pending_identity TEXT    CHECK (pending_identity IS NULL OR json_valid(pending_identity)),
    first_seen_ms    INTEGER NOT NULL,
    changed_ms       INTEGER NOT NULL
) STRICT;

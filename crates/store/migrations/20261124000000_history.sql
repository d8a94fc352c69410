-- The decision history: servers and their tools, every event in a hash chain, and the rules
-- added at run time. src/store/mod.rs explains the chain; src/store/chain.rs defines the
-- canonical encoding that `events.hash` covers. STRICT tables: a value of the wrong type is
-- refused instead of being silently converted.

-- Every server MCP Firewall has relayed for.
CREATE TABLE servers (
    name          TEXT    NOT NULL PRIMARY KEY,
    -- The command line (stdio) or URL (HTTP); NULL until the server is first started.
    origin        TEXT,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL
) STRICT;

-- Every distinct definition of every tool: a changed definition is a new row, so a tool that
-- changes its description after it was approved shows up as a second row for the same name.
CREATE TABLE tools (
    id                INTEGER PRIMARY KEY,
    server            TEXT    NOT NULL REFERENCES servers (name) ON DELETE CASCADE ON UPDATE CASCADE,
    name              TEXT    NOT NULL,
    -- The tool's definition as the server sent it (JSON text).
    definition        TEXT    NOT NULL,
    -- SHA-256 of `definition`, lowercase hex.
    definition_sha256 TEXT    NOT NULL,
    first_seen_ms     INTEGER NOT NULL,
    last_seen_ms      INTEGER NOT NULL,
    UNIQUE (server, name, definition_sha256)
) STRICT;

CREATE INDEX tools_by_last_seen ON tools (server, name, last_seen_ms);

-- One row per message (or refusal), in the order they were committed. `seq` is the position in
-- the chain: assigned by the writer, never reused. `hash` = HMAC-SHA256(chain key,
-- previous row's hash || canonical encoding of this row).
CREATE TABLE events (
    seq              INTEGER PRIMARY KEY,
    ts_ms            INTEGER NOT NULL,
    server           TEXT    NOT NULL,
    session          TEXT    NOT NULL,
    direction        TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    method           TEXT,
    rpc_id           TEXT,
    tool             TEXT,
    category         TEXT,
    era              TEXT    NOT NULL,
    protocol_version TEXT,
    verdict          TEXT    NOT NULL,
    decided_by       TEXT,
    reason           TEXT,
    latency_us       INTEGER,
    cancels          TEXT,
    args_digest      TEXT,
    args_redacted    TEXT,
    result_status    TEXT,
    -- Detector findings, a JSON array as text.
    findings         TEXT    NOT NULL,
    bytes            INTEGER NOT NULL,
    hash             BLOB    NOT NULL
) STRICT;

-- The history is read newest first (ORDER BY seq DESC) with a few equality filters, so each
-- index has `seq` after the filtered columns: SQLite walks it backwards and stops after LIMIT
-- rows, with no sort. `ts_ms` comes last so that a time filter is checked on the index entry
-- itself, before the row is read (SQLite defers the table seek): "this server's denials since
-- yesterday" stays fast even when few rows match.
CREATE INDEX events_by_time ON events (ts_ms);
CREATE INDEX events_by_server ON events (server, seq, ts_ms);
CREATE INDEX events_by_server_verdict ON events (server, verdict, seq, ts_ms);
CREATE INDEX events_by_verdict ON events (verdict, seq, ts_ms);
CREATE INDEX events_by_tool ON events (tool, seq, ts_ms) WHERE tool IS NOT NULL;
CREATE INDEX events_by_category ON events (category, seq, ts_ms) WHERE category IS NOT NULL;
CREATE INDEX events_by_decider ON events (decided_by, seq, ts_ms) WHERE decided_by IS NOT NULL;

-- Which key the chain is written with (a fingerprint, not the key), so that opening the history
-- with another key fails at once instead of mixing two chains.
CREATE TABLE chain_meta (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    format          INTEGER NOT NULL,
    key_fingerprint TEXT    NOT NULL,
    created_ms      INTEGER NOT NULL
) STRICT;

-- The end of the chain: the last row's seq and hash, with a MAC over both so the head cannot be
-- moved back to hide removed rows. Absent until the first event is written.
CREATE TABLE chain_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL,
    mac  BLOB    NOT NULL
) STRICT;

-- One row per prune: the last removed row's seq and hash (with a MAC). Verification starts from
-- the newest anchor instead of the start of the chain.
CREATE TABLE chain_anchor (
    seq              INTEGER PRIMARY KEY,
    hash             BLOB    NOT NULL,
    mac              BLOB    NOT NULL,
    pruned_before_ms INTEGER NOT NULL,
    created_ms       INTEGER NOT NULL
) STRICT;

-- Rules added at run time (approvals, the CLI). AUTOINCREMENT: an id is never reused, because
-- the history names the rule that decided (`rule:db:<id>`). `mac` authenticates the row with
-- the chain key, so a rule inserted behind MCP Firewall's back is ignored.
CREATE TABLE rules (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    rule       TEXT    NOT NULL CHECK (json_valid(rule)),
    origin     TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER,
    mac        BLOB    NOT NULL
) STRICT;

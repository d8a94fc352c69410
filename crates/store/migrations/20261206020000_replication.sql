-- Replication of the history to PostgreSQL (src/postgres.rs): per target (its address without
-- the password), the last event PostgreSQL has acknowledged. Moved only after PostgreSQL
-- committed, so an outage never skips an event.
CREATE TABLE replication_cursor (
    target     TEXT    NOT NULL PRIMARY KEY,
    seq        INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
) STRICT;

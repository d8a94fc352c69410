//! The hash chain: the stored form of an event, its canonical encoding, the MACs, and the walk
//! that checks them.
//!
//! # Canonical encoding (format 1)
//!
//! A row is encoded as a compact JSON array (no whitespace), in this fixed order:
//!
//! ```text
//! ["mcpfw-event-v1", seq, ts_ms, server, session, direction, kind, method, rpc_id, tool,
//!  category, era, protocol_version, verdict, decided_by, reason, latency_us, cancels,
//!  args_digest, args_redacted, result_status, findings, bytes]
//! ```
//!
//! Integers are decimal (`i64`, as stored: values above `i64::MAX` are stored as `i64::MAX`),
//! strings are JSON strings as `serde_json` writes them (UTF-8 kept as is; `"`, `\` and control
//! characters escaped, the latter as `\n`-style short escapes or `\u00XX`), absent values are
//! `null`. `findings` is the stored JSON *text* encoded as a string, not re-parsed, so its
//! bytes are covered exactly. The encoding is computed from the values as they are stored and
//! read back, so writing and verifying share one code path.
//!
//! `hash(row) = HMAC-SHA256(key, hash(previous row) || encoding(row))`, with 32 zero bytes as
//! the previous hash of row 1. The chain head and prune anchors are authenticated separately:
//! `HMAC-SHA256(key, "mcpfw-head-v1" || seq as 8 big-endian bytes || hash)` and the same with
//! `"mcpfw-anchor-v1"`.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use sqlx::SqliteConnection;

use super::ChainKey;
use mcpfw_core::record::Event;

/// The `hash` that precedes row 1.
pub(crate) const GENESIS: [u8; 32] = [0; 32];

/// The version of the chain's encoding, stored in `chain_meta.format`.
pub(crate) const FORMAT: i64 = 1;

/// The columns of `events`, in the order of the canonical encoding, then `hash`.
pub(crate) const EVENT_COLUMNS: &str = "seq, ts_ms, server, session, direction, kind, method, \
     rpc_id, tool, category, era, protocol_version, verdict, decided_by, reason, latency_us, \
     cancels, args_digest, args_redacted, result_status, findings, bytes, hash";

/// One row of `events`, exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub seq: i64,
    pub ts_ms: i64,
    pub server: String,
    pub session: String,
    pub direction: String,
    pub kind: String,
    pub method: Option<String>,
    pub rpc_id: Option<String>,
    pub tool: Option<String>,
    pub category: Option<String>,
    pub era: String,
    pub protocol_version: Option<String>,
    pub verdict: String,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub latency_us: Option<i64>,
    pub cancels: Option<String>,
    pub args_digest: Option<String>,
    pub args_redacted: Option<String>,
    pub result_status: Option<String>,
    pub findings: String,
    pub bytes: i64,
    pub hash: Vec<u8>,
}

/// SQLite integers are signed: larger values are kept as `i64::MAX`.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The encoding's shape: a tuple struct serialises as a JSON array.
#[derive(Serialize)]
struct Canonical<'a>(
    &'static str,
    i64,
    i64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
    Option<&'a str>,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<i64>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
    i64,
);

impl EventRow {
    /// The row for `event` at position `seq`, without its hash yet.
    pub(crate) fn from_event(seq: i64, e: &Event) -> Self {
        Self {
            seq,
            ts_ms: to_i64(e.ts_ms),
            server: e.server.clone(),
            session: e.session.clone(),
            direction: e.direction.as_str().to_owned(),
            kind: e.kind.as_str().to_owned(),
            method: e.method.clone(),
            rpc_id: e.id.clone(),
            tool: e.tool.clone(),
            category: e.category.map(|c| c.as_str().to_owned()),
            era: e.era.to_owned(),
            protocol_version: e.protocol_version.clone(),
            verdict: e.verdict.as_str().to_owned(),
            decided_by: e.decided_by.as_ref().map(|d| d.label()),
            reason: e.reason.clone(),
            latency_us: e.latency_us.map(to_i64),
            cancels: e.cancels.clone(),
            args_digest: e.args_digest.clone(),
            args_redacted: e.args_redacted.clone(),
            result_status: e.result_status.map(|r| r.as_str().to_owned()),
            findings: mcpfw_core::finding::to_text(&e.findings),
            bytes: to_i64(e.bytes),
            hash: Vec::new(),
        }
    }

    /// The canonical encoding (see the module docs); `hash` is not part of it.
    pub(crate) fn canonical(&self) -> Vec<u8> {
        let shape = Canonical(
            "mcpfw-event-v1",
            self.seq,
            self.ts_ms,
            &self.server,
            &self.session,
            &self.direction,
            &self.kind,
            self.method.as_deref(),
            self.rpc_id.as_deref(),
            self.tool.as_deref(),
            self.category.as_deref(),
            &self.era,
            self.protocol_version.as_deref(),
            &self.verdict,
            self.decided_by.as_deref(),
            self.reason.as_deref(),
            self.latency_us,
            self.cancels.as_deref(),
            self.args_digest.as_deref(),
            self.args_redacted.as_deref(),
            self.result_status.as_deref(),
            &self.findings,
            self.bytes,
        );
        // Serialising strings, integers and nulls into memory has no failure path in serde_json
        // (errors come only from I/O, non-string map keys or failing custom impls).
        serde_json::to_vec(&shape).expect("serialising strings and integers into memory")
    }
}

/// The keyed MAC, prepared once (the key schedule is done once; each use clones it).
pub(crate) struct ChainMac {
    keyed: Hmac<Sha256>,
}

impl ChainMac {
    pub(crate) fn new(key: &ChainKey) -> Self {
        Self {
            keyed: <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
                .expect("HMAC accepts keys of any length"),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The hash of `row` following `prev`.
    pub(crate) fn event(&self, prev: &[u8], row: &EventRow) -> [u8; 32] {
        self.mac(&[prev, &row.canonical()])
    }

    /// The MAC of the chain head.
    pub(crate) fn head(&self, seq: i64, hash: &[u8]) -> [u8; 32] {
        self.mac(&[b"mcpfw-head-v1", &seq.to_be_bytes(), hash])
    }

    /// The MAC of a prune anchor.
    pub(crate) fn anchor(&self, seq: i64, hash: &[u8]) -> [u8; 32] {
        self.mac(&[b"mcpfw-anchor-v1", &seq.to_be_bytes(), hash])
    }

    /// The MAC of a rule row.
    pub(crate) fn rule(
        &self,
        id: i64,
        rule: &str,
        origin: &str,
        created_ms: i64,
        expires_ms: Option<i64>,
    ) -> [u8; 32] {
        let encoded =
            serde_json::to_vec(&("mcpfw-rule-v1", id, rule, origin, created_ms, expires_ms))
                .expect("serialising strings and integers into memory");
        self.mac(&[&encoded])
    }
}

/// A position in the chain: a row's seq and hash (the anchor, the head, the last row seen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub seq: i64,
    pub hash: Vec<u8>,
}

impl Link {
    pub(crate) fn genesis() -> Self {
        Self { seq: 0, hash: GENESIS.to_vec() }
    }
}

/// A stored head or anchor with its MAC.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SignedLink {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub mac: Vec<u8>,
}

impl SignedLink {
    pub(crate) fn link(self) -> Link {
        Link { seq: self.seq, hash: self.hash }
    }
}

/// The newest prune anchor, or `None` when nothing was pruned.
pub(crate) async fn read_anchor(conn: &mut SqliteConnection) -> sqlx::Result<Option<SignedLink>> {
    sqlx::query_as("SELECT seq, hash, mac FROM chain_anchor ORDER BY seq DESC LIMIT 1")
        .fetch_optional(conn)
        .await
}

/// The chain head, or `None` before the first event.
pub(crate) async fn read_head(conn: &mut SqliteConnection) -> sqlx::Result<Option<SignedLink>> {
    sqlx::query_as("SELECT seq, hash, mac FROM chain_head WHERE id = 1").fetch_optional(conn).await
}

/// What a walk along the chain found.
#[derive(Debug)]
pub(crate) struct Walk {
    /// Rows checked.
    pub checked: u64,
    /// The last row seen (the start when there was none).
    pub last: Link,
    /// What is wrong, in chain order.
    pub problems: Vec<String>,
}

/// How many rows one query of the walk reads.
const WALK_CHUNK: i64 = 8192;

/// Checks every row after `start` (up to `upto` inclusive, or to the end): that the seqs follow
/// each other and that each hash matches the row and its predecessor's hash.
///
/// After a modified row the walk continues from that row's *stored* hash, so one edit is
/// reported once instead of breaking every later row; after a gap, the first row after it
/// cannot be checked (its predecessor is gone) and only the gap is reported.
pub(crate) async fn walk(
    conn: &mut SqliteConnection,
    mac: &ChainMac,
    start: Link,
    upto: Option<i64>,
) -> sqlx::Result<Walk> {
    let mut walk = Walk { checked: 0, last: start, problems: Vec::new() };
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3"
    );
    loop {
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(walk.last.seq)
            .bind(upto.unwrap_or(i64::MAX))
            .bind(WALK_CHUNK)
            .fetch_all(&mut *conn)
            .await?;
        let Some(end) = rows.last().map(|row| row.seq) else {
            break;
        };
        for row in rows {
            let expected_seq = walk.last.seq + 1;
            if row.seq != expected_seq {
                walk.problems.push(missing(expected_seq, row.seq - 1, walk.last.seq));
            } else if mac.event(&walk.last.hash, &row)[..] != row.hash[..] {
                walk.problems.push(format!(
                    "row {} was modified (its contents or position no longer match its hash)",
                    row.seq
                ));
            }
            walk.checked += 1;
            walk.last = Link { seq: row.seq, hash: row.hash };
        }
        debug_assert_eq!(walk.last.seq, end);
    }
    Ok(walk)
}

/// "row 17 is missing (seq gap after 16)" / "rows 17 to 20 are missing (seq gap after 16)".
pub(crate) fn missing(first: i64, last: i64, after: i64) -> String {
    if first == last {
        format!("row {first} is missing (seq gap after {after})")
    } else {
        format!("rows {first} to {last} are missing (seq gap after {after})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpfw_core::session::Direction;

    fn event() -> Event {
        Event {
            ts_ms: 1_700_000_000_000,
            server: "fs".into(),
            session: "s1".into(),
            direction: Direction::ClientToServer,
            kind: mcpfw_core::record::EventKind::Request,
            method: Some("tools/call".into()),
            id: Some("7".into()),
            tool: Some("read_file".into()),
            category: Some(mcpfw_core::classify::Category::Read),
            era: "handshake",
            protocol_version: Some("2025-06-18".into()),
            verdict: mcpfw_core::record::Verdict::Deny,
            decided_by: Some(mcpfw_core::record::DecidedBy::Rule("file:no-secrets".into())),
            reason: Some("a \"quoted\"\nreason — ünïcode".into()),
            latency_us: None,
            cancels: None,
            args_digest: Some("ab".into()),
            args_redacted: Some("{\"path\":\"/etc/passwd\"}".into()),
            result_status: None,
            findings: Vec::new(),
            bytes: u64::MAX,
        }
    }

    #[test]
    fn canonical_encoding_is_fixed() {
        let row = EventRow::from_event(3, &event());
        let text = String::from_utf8(row.canonical()).unwrap();
        assert_eq!(
            text,
            r#"["mcpfw-event-v1",3,1700000000000,"fs","s1","client_to_server","request","tools/call","7","read_file","read","handshake","2025-06-18","deny","rule:file:no-secrets","a \"quoted\"\nreason — ünïcode",null,null,"ab","{\"path\":\"/etc/passwd\"}",null,"[]",9223372036854775807]"#
        );
    }

    #[test]
    fn hash_depends_on_key_predecessor_and_every_field() {
        let mac = ChainMac::new(&ChainKey::from_bytes([7; 32]));
        let row = EventRow::from_event(1, &event());
        let base = mac.event(&GENESIS, &row);
        // A golden value, computed independently (Python's hmac over the documented encoding):
        // changing the encoding or the MAC construction would break every existing chain.
        assert_eq!(
            hex::encode(base),
            "1f5d576f1dcd4af860a0461891f3ea0b8a87e80ac840644195fc8db372271909"
        );
        assert_ne!(base, mac.event(&[1; 32], &row));
        assert_ne!(base, ChainMac::new(&ChainKey::from_bytes([8; 32])).event(&GENESIS, &row));
        let mut moved = row.clone();
        moved.seq = 2;
        assert_ne!(base, mac.event(&GENESIS, &moved));
        let mut edited = row.clone();
        edited.verdict = "allow".into();
        assert_ne!(base, mac.event(&GENESIS, &edited));
        let mut nulled = row;
        nulled.method = Some(String::new());
        nulled.tool = None;
        assert_ne!(base, mac.event(&GENESIS, &nulled));
    }
}

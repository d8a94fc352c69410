//! The history's wire format: one event as `mcpfw log --json` prints it and the HTTP API
//! serves it. [`HistoryEvent`] is the one definition; the dashboard's TypeScript type is
//! generated from it (`ui/src/generated/`, checked by `generated_types_are_current`).

use std::time::{Duration, UNIX_EPOCH};

use mcpfw_core::classify::Category;
use mcpfw_core::finding::Finding;
use mcpfw_core::record::{DecidedBy, EventKind, ResultStatus, Verdict};
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::StoredEvent;

/// A time in milliseconds since the Unix epoch as RFC 3339 with milliseconds, in UTC.
pub fn rfc3339(ts_ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ts_ms)).to_string()
}

/// One recorded event, as people and programs read it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct HistoryEvent {
    /// Its position in the hash chain.
    #[ts(type = "number")]
    pub seq: i64,
    /// When, in RFC 3339 (UTC, milliseconds).
    pub ts: String,
    pub server: String,
    pub session: String,
    /// `client_to_server` or `server_to_client`.
    pub direction: String,
    pub kind: EventKind,
    pub method: Option<String>,
    /// The JSON-RPC id, as its raw JSON text.
    pub id: Option<String>,
    pub tool: Option<String>,
    pub category: Option<Category>,
    pub verdict: Verdict,
    /// `rule:<id>`, `default`, `user`, `detector:<name>`, `guard:<name>`, `firewall`, `paused`,
    /// `org:<version>:<rule id>` (the organisation policy).
    #[ts(type = "string | null")]
    pub decided_by: Option<DecidedBy>,
    pub reason: Option<String>,
    /// What detectors, the secret scanner, pins and identity checks found.
    pub findings: Vec<Finding>,
    /// The arguments with secrets redacted.
    #[ts(type = "unknown")]
    pub arguments: Value,
    pub args_digest: Option<String>,
    pub result_status: Option<ResultStatus>,
    #[ts(type = "number | null")]
    pub latency_us: Option<u64>,
    pub cancels: Option<String>,
    /// `handshake`, `stateless` or `unknown`.
    pub era: String,
    pub protocol_version: Option<String>,
    #[ts(type = "number")]
    pub bytes: u64,
}

impl From<&StoredEvent> for HistoryEvent {
    fn from(e: &StoredEvent) -> Self {
        let findings = mcpfw_core::finding::from_text(&e.findings);
        let arguments: Value = e
            .args_redacted
            .as_deref()
            .map(|a| serde_json::from_str(a).unwrap_or_else(|_| Value::String(a.to_owned())))
            .unwrap_or(Value::Null);
        Self {
            seq: e.seq,
            ts: rfc3339(e.ts_ms),
            server: e.server.clone(),
            session: e.session.clone(),
            direction: e.direction.clone(),
            kind: e.kind,
            method: e.method.clone(),
            id: e.rpc_id.clone(),
            tool: e.tool.clone(),
            category: e.category,
            verdict: e.verdict,
            decided_by: e.decided_by.clone(),
            reason: e.reason.clone(),
            findings,
            arguments,
            args_digest: e.args_digest.clone(),
            result_status: e.result_status,
            latency_us: e.latency_us,
            cancels: e.cancels.clone(),
            era: e.era.clone(),
            protocol_version: e.protocol_version.clone(),
            bytes: e.bytes,
        }
    }
}

/// One event as `mcpfw log --json` prints it and the API sends it (keys in sorted order).
pub fn event_json(e: &StoredEvent) -> Value {
    serde_json::to_value(HistoryEvent::from(e)).unwrap_or(Value::Null)
}

/// The package a server runs and its pin, as `mcpfw status` and the dashboard's Servers page
/// show it (`GET /api/v1/servers`' `package`): what was trusted, and any change waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ServerPackage {
    /// `npm`, `pypi`, `image` or `file`.
    pub ecosystem: String,
    pub name: String,
    /// The spec as written in the command (`pkg@^1.2`), if any.
    pub requested: Option<String>,
    /// The version that ran when it was trusted (an image's digest; `null` for a file).
    pub resolved: Option<String>,
    /// npm's `integrity`, a record's or image's or file's `sha256:…`.
    pub integrity: Option<String>,
    /// Whether the command names one version for good (an exact version or an image digest).
    pub pinned: bool,
    /// `trusted`, `changed` (its tools are withheld until reviewed) or `blocked`.
    pub status: String,
    /// The trusted identity's digest.
    pub digest: String,
    #[ts(type = "number")]
    pub first_seen_ms: u64,
    #[ts(type = "number")]
    pub changed_ms: u64,
    /// What runs now instead, while a change waits for review (or was blocked).
    pub change: Option<PackageChange>,
}

/// A package change waiting for review: what runs now, and the review's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PackageChange {
    pub name: String,
    pub requested: Option<String>,
    pub resolved: Option<String>,
    pub integrity: Option<String>,
    pub pinned: bool,
    /// The digest to send back when trusting or blocking it (what the person reviewed).
    pub digest: String,
    /// Before and after, as `mcpfw tools package` prints it.
    pub description: String,
}

impl From<&crate::packages::PackagePin> for ServerPackage {
    fn from(pin: &crate::packages::PackagePin) -> Self {
        let id = &pin.identity;
        let change = match (&pin.pending_identity, &pin.pending_digest) {
            (Some(now), Some(digest)) => Some(PackageChange {
                name: now.name.clone(),
                requested: now.requested.clone(),
                resolved: now.resolved.clone(),
                integrity: now.integrity.clone(),
                pinned: now.pinned,
                digest: digest.clone(),
                description: pin.describe_change(),
            }),
            _ => None,
        };
        Self {
            ecosystem: id.ecosystem.as_str().to_owned(),
            name: id.name.clone(),
            requested: id.requested.clone(),
            resolved: id.resolved.clone(),
            integrity: id.integrity.clone(),
            pinned: id.pinned,
            status: pin.status.clone(),
            digest: pin.digest.clone(),
            first_seen_ms: pin.first_seen_ms,
            changed_ms: pin.changed_ms,
            change,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ts_rs::TS;

    use super::{HistoryEvent, ServerPackage};

    /// The dashboard's types are generated from this crate's and the core's Rust types. This
    /// fails when `ui/src/generated/` is stale; `MCPFW_WRITE_TYPES=1 cargo test -p mcpfw-store
    /// generated_types` writes them anew.
    #[test]
    fn generated_types_are_current() {
        let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/generated");
        let fresh = tempfile::tempdir().unwrap();
        HistoryEvent::export_all_to(fresh.path()).unwrap();
        ServerPackage::export_all_to(fresh.path()).unwrap();
        let mut stale = Vec::new();
        for entry in std::fs::read_dir(fresh.path()).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_owned();
            let want = std::fs::read_to_string(&path).unwrap();
            let have = std::fs::read_to_string(committed.join(&name)).unwrap_or_default();
            if have != want {
                if std::env::var_os("MCPFW_WRITE_TYPES").is_some() {
                    std::fs::create_dir_all(&committed).unwrap();
                    std::fs::write(committed.join(&name), &want).unwrap();
                } else {
                    stale.push(name.to_string_lossy().into_owned());
                }
            }
        }
        assert!(
            stale.is_empty(),
            "ui/src/generated/ is stale ({}): run `MCPFW_WRITE_TYPES=1 cargo test -p mcpfw-store \
             generated_types` and commit the result",
            stale.join(", ")
        );
    }
}

//! The history's wire format: one event as `mcpfw log --json` prints it and the HTTP API
//! serves it. [`HistoryEvent`] is the one definition; the dashboard's TypeScript type is
//! generated from it (`ui/src/generated/`, checked by `generated_types_are_current`).

use std::time::{Duration, UNIX_EPOCH};

use mcpfw_core::classify::Category;
use mcpfw_core::record::{DecidedBy, EventKind, ResultStatus, Verdict};
use serde::Serialize;
use serde_json::{Value, json};
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
    #[ts(type = "{ kind: string; detail?: string; pointer?: string; [key: string]: unknown }[]")]
    pub findings: Value,
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
        let findings: Value = serde_json::from_str(&e.findings).unwrap_or_else(|_| json!([]));
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ts_rs::TS;

    use super::HistoryEvent;

    /// The dashboard's types are generated from this crate's and the core's Rust types. This
    /// fails when `ui/src/generated/` is stale; `MCPFW_WRITE_TYPES=1 cargo test -p mcpfw-store
    /// generated_types` writes them anew.
    #[test]
    fn generated_types_are_current() {
        let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/generated");
        let fresh = tempfile::tempdir().unwrap();
        HistoryEvent::export_all_to(fresh.path()).unwrap();
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

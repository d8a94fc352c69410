//! The history's wire format: one event as `mcpfw log --json` prints it and the HTTP API
//! serves it (the schema docs/history.md documents).

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::StoredEvent;

/// A time in milliseconds since the Unix epoch as RFC 3339 with milliseconds, in UTC.
pub fn rfc3339(ts_ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ts_ms)).to_string()
}

/// One event as `mcpfw log --json` prints it.
pub fn event_json(e: &StoredEvent) -> Value {
    let findings: Value = serde_json::from_str(&e.findings).unwrap_or_else(|_| json!([]));
    let args: Value = e
        .args_redacted
        .as_deref()
        .map(|a| serde_json::from_str(a).unwrap_or_else(|_| Value::String(a.to_owned())))
        .unwrap_or(Value::Null);
    json!({
        "seq": e.seq,
        "ts": rfc3339(e.ts_ms),
        "server": e.server,
        "session": e.session,
        "direction": e.direction,
        "kind": e.kind,
        "method": e.method,
        "id": e.rpc_id,
        "tool": e.tool,
        "category": e.category,
        "verdict": e.verdict,
        "decided_by": e.decided_by,
        "reason": e.reason,
        "findings": findings,
        "arguments": args,
        "args_digest": e.args_digest,
        "result_status": e.result_status,
        "latency_us": e.latency_us,
        "cancels": e.cancels,
        "era": e.era,
        "protocol_version": e.protocol_version,
        "bytes": e.bytes,
    })
}

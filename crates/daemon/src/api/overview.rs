//! Servers and their tools, and call statistics for the chart.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::refuse;
use crate::store::Store;

/// A tool's pin for the dashboard: its status, and for a changed tool the waiting digest and a
/// unified diff of the definitions (the text is the server's: the page shows it as text).
pub fn pin_json(pin: &crate::store::pins::Pin) -> Value {
    json!({
        "status": pin.status,
        "digest": pin.digest,
        "pending_digest": pin.pending_digest,
        "changed_ms": pin.changed_ms,
        "diff": pin.pending_definition.as_ref().map(|_| pin.describe_change()),
    })
}

/// Each server's box as it last started (`<data>/sandbox/*.json`, written by the shim; the same
/// `mcpfw sandbox show` reads), by server name. A file that cannot be read is skipped.
fn boxes(paths: &crate::paths::Paths) -> std::collections::HashMap<String, Value> {
    let Ok(entries) = std::fs::read_dir(paths.data.join("sandbox")) else {
        return Default::default();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .filter_map(|v| Some((v["profile"]["server"].as_str()?.to_owned(), v)))
        .collect()
}

/// Every server seen, with its tools and each tool's pin (`null` for a tool never pinned), its
/// box, and its package pin (`null` when none was pinned).
pub async fn servers(store: &Store, paths: &crate::paths::Paths) -> Response {
    let boxes = boxes(paths);
    let servers = match store.servers_overview().await {
        Ok(servers) => servers,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
    };
    let pins = match store.pins(None).await {
        Ok(pins) => pins,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
    };
    let packages = match store.package_pins(None).await {
        Ok(packages) => packages,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
    };
    let package_of = |server: &str| {
        packages
            .iter()
            .find(|p| p.server == server)
            .map_or(Value::Null, |p| json!(crate::store::wire::ServerPackage::from(p)))
    };
    let pin_of = |server: &str, tool: &str| {
        pins.iter().find(|p| p.server == server && p.name == tool).map_or(Value::Null, pin_json)
    };
    let out: Vec<Value> = servers
        .into_iter()
        .map(|server| {
            let tools: Vec<Value> = server
                .tools
                .into_iter()
                .map(|tool| {
                    let latest = tool.definitions.first();
                    let parsed: Value = latest
                        .and_then(|d| serde_json::from_str(&d.definition).ok())
                        .unwrap_or(Value::Null);
                    json!({
                        "name": tool.name,
                        "description": parsed.get("description").cloned().unwrap_or(Value::Null),
                        "annotations": parsed.get("annotations").cloned().unwrap_or(Value::Null),
                        "sha256": latest.map(|d| d.sha256.clone()),
                        "first_seen_ms": tool.first_seen_ms,
                        "last_seen_ms": tool.last_seen_ms,
                        "versions": tool.definitions.len(),
                        "definitions": tool.definitions.iter().map(|d| json!({
                            "sha256": d.sha256,
                            "first_seen_ms": d.first_seen_ms,
                            "last_seen_ms": d.last_seen_ms,
                            "definition": serde_json::from_str::<Value>(&d.definition).unwrap_or(Value::Null),
                        })).collect::<Vec<_>>(),
                        "pin": pin_of(&server.name, &tool.name),
                    })
                })
                .collect();
            json!({
                "name": server.name,
                "origin": server.origin,
                "first_seen_ms": server.first_seen_ms,
                "last_seen_ms": server.last_seen_ms,
                "sandbox": boxes.get(&server.name).cloned().unwrap_or(Value::Null),
                "package": package_of(&server.name),
                "tools": tools,
            })
        })
        .collect();
    Json(out).into_response()
}

/// Filters of `GET /api/v1/stats`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
    pub bucket_ms: Option<u64>,
}

/// The most buckets one answer has.
const MAX_BUCKETS: u64 = 1000;

/// Tool calls per time bucket by verdict: `{"since_ms","until_ms","bucket_ms","buckets":
/// [{"start_ms", "counts": {"allow": n, "deny": n, "ask": n}}]}`, every bucket present.
pub async fn stats(store: &Store, q: StatsQuery) -> Response {
    let now = crate::record::now_ms();
    let until = q.until_ms.unwrap_or(now);
    let since = q.since_ms.unwrap_or_else(|| until.saturating_sub(24 * 60 * 60 * 1000));
    if since >= until {
        return refuse(StatusCode::BAD_REQUEST, "since_ms must be before until_ms");
    }
    let bucket = q.bucket_ms.unwrap_or_else(|| ((until - since) / 24).max(1));
    if bucket == 0 {
        return refuse(StatusCode::BAD_REQUEST, "bucket_ms must be at least 1");
    }
    let count = (until - since).div_ceil(bucket);
    if count > MAX_BUCKETS {
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!("that is {count} buckets; ask for at most {MAX_BUCKETS} (a wider bucket_ms)"),
        );
    }
    let rows = match store.call_counts(since, until, bucket).await {
        Ok(rows) => rows,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
    };
    let mut buckets: Vec<Value> =
        (0..count).map(|i| json!({"start_ms": since + i * bucket, "counts": Map::new()})).collect();
    for row in rows {
        let index = ((row.bucket_ms - since) / bucket) as usize;
        if let Some(b) = buckets.get_mut(index) {
            b["counts"][row.verdict.as_str()] = json!(row.count);
        }
    }
    Json(json!({"since_ms": since, "until_ms": until, "bucket_ms": bucket, "buckets": buckets}))
        .into_response()
}

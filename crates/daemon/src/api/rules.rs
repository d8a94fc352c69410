//! Rules over HTTP: list, add, remove, and the dry run that shows what a rule would have done to
//! the calls already in the history.
//!
//! A rule arrives as the JSON of a `policy.toml` `[[rules]]` entry (`RuleSpec`) and is checked
//! by the same function as `mcpfw rules add` ([`RuleSpec::check_for_database`](crate::policy::file::RuleSpec::check_for_database)).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::refuse;
use crate::compose::PolicyInputs;
use crate::paths::Paths;
use crate::policy::engine::{Call, Environment, PolicyEngine};
use crate::policy::file::{Action, PolicyFile, RuleSpec};
use crate::record::DecidedBy;
use crate::store::{EventFilter, Store};

/// How many of the most recent tool calls a dry run replays.
pub const DRY_RUN_CALLS: u32 = 20_000;
/// How many example calls a dry run shows.
const EXAMPLES: usize = 5;

/// `POST /api/v1/rules` and `/api/v1/rules/dry-run`: a rule and, for adding, when it expires.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    pub rule: RuleSpec,
    /// A duration (`1h`, `7d`) after which the rule stops applying.
    #[serde(default)]
    pub expires: Option<String>,
}

/// Why a rule sent to the API is refused (the message of a 400).
#[derive(Debug, thiserror::Error)]
pub enum BadRule {
    #[error("bad rule: {0}")]
    NotARule(serde_json::Error),
    #[error("bad rule: {0}")]
    Invalid(crate::policy::file::RuleError),
    #[error("bad rule: `expires` {0:?} is not a duration (1h, 7d)")]
    Expires(String),
}

/// Parses and checks a request body.
pub fn parse_body(body: &[u8]) -> Result<(RuleSpec, Option<Duration>), BadRule> {
    let parsed: RuleBody = serde_json::from_slice(body).map_err(BadRule::NotARule)?;
    parsed.rule.check_for_database().map_err(BadRule::Invalid)?;
    let expires = parsed
        .expires
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(|e| humantime::parse_duration(e.trim()).map_err(|_| BadRule::Expires(e.to_owned())))
        .transpose()?;
    Ok((parsed.rule, expires))
}

/// Every rule in force: `policy.toml`'s (read-only here) and the database's.
pub async fn list(store: &Store, paths: &Paths) -> Response {
    let policy = PolicyFile::load(&crate::policy::file::policy_path(paths));
    let mut rules: Vec<Value> = Vec::new();
    let policy_error = match &policy {
        Ok(file) => {
            for (i, rule) in file.rules.iter().enumerate() {
                let name = rule.id.clone().unwrap_or_else(|| (i + 1).to_string());
                rules.push(json!({"id": format!("file:{name}"), "source": "policy.toml",
                    "origin": "policy.toml", "rule": rule, "created_ms": null, "expires_ms": null}));
            }
            None
        }
        Err(e) => Some(e.to_string()),
    };
    let stored = match store.list_rules().await {
        Ok(stored) => stored,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
    };
    for rule in stored {
        let spec: Value = serde_json::from_str(&rule.rule_json).unwrap_or(Value::Null);
        rules.push(json!({"id": format!("db:{}", rule.id), "db_id": rule.id, "source": "database",
            "origin": rule.origin, "rule": spec, "created_ms": rule.created_ms,
            "expires_ms": rule.expires_ms}));
    }
    Json(json!({"rules": rules, "policy_error": policy_error})).into_response()
}

/// Adds a database rule; answers 201 with its id.
pub async fn add(store: &Store, body: &[u8]) -> Response {
    let (spec, expires) = match parse_body(body) {
        Ok(parsed) => parsed,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, &message.to_string()),
    };
    let rule_json = match serde_json::to_string(&spec) {
        Ok(text) => text,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let expires_ms = expires.map(|d| crate::record::now_ms() + d.as_millis() as u64);
    match store.add_rule(&rule_json, "dashboard", expires_ms).await {
        Ok(id) => (
            StatusCode::CREATED,
            Json(json!({"id": format!("db:{id}"), "db_id": id, "rule": spec, "expires_ms": expires_ms,
                "note": "it applies to servers started from now on"})),
        )
            .into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
    }
}

/// Replaces a database rule (`PUT /api/v1/rules/{id}`): the old one is removed and the edited
/// one added under a new number, in one transaction.
pub async fn replace(store: &Store, id: &str, body: &[u8]) -> Response {
    let Some(number) = db_number(id) else {
        return refuse(StatusCode::BAD_REQUEST, &not_a_db_rule(id));
    };
    let (spec, expires) = match parse_body(body) {
        Ok(parsed) => parsed,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, &message.to_string()),
    };
    let rule_json = match serde_json::to_string(&spec) {
        Ok(text) => text,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let expires_ms = expires.map(|d| crate::record::now_ms() + d.as_millis() as u64);
    match store.replace_rule(number, &rule_json, "dashboard", expires_ms).await {
        Ok(Some(new_id)) => Json(json!({"id": format!("db:{new_id}"), "db_id": new_id,
            "replaced": format!("db:{number}"), "rule": spec, "expires_ms": expires_ms,
            "note": "it applies to servers started from now on"}))
        .into_response(),
        Ok(None) => refuse(StatusCode::NOT_FOUND, &format!("no database rule db:{number}")),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
    }
}

fn db_number(id: &str) -> Option<i64> {
    id.strip_prefix("db:").unwrap_or(id).parse().ok()
}

fn not_a_db_rule(id: &str) -> String {
    format!(
        "`{id}` is not a database rule number; rules from policy.toml are changed by editing the file"
    )
}

/// Removes a database rule by number (`3` or `db:3`).
pub async fn remove(store: &Store, id: &str) -> Response {
    let Some(number) = db_number(id) else {
        return refuse(StatusCode::BAD_REQUEST, &not_a_db_rule(id));
    };
    match store.remove_rule(number).await {
        Ok(true) => Json(json!({"removed": format!("db:{number}")})).into_response(),
        Ok(false) => refuse(StatusCode::NOT_FOUND, &format!("no database rule db:{number}")),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
    }
}

/// The rule number a dry run gives the rule being tried (database ids start at 1).
const TRIED: i64 = 0;

/// What a rule would have done to the most recent tool calls in the history.
///
/// Each call (tool and redacted arguments as recorded) is matched against the rule alone; for
/// the calls it matches, it is decided again under today's policy plus the rule and compared
/// with the verdict recorded at the time. Limits: secrets were redacted before they were stored,
/// and roots given on a server's command line or announced by its client are not known here, so
/// conditions on them are judged with the roots from policy.toml only.
pub async fn dry_run(store: &Store, paths: &Paths, body: &[u8]) -> Response {
    let (spec, _) = match parse_body(body) {
        Ok(parsed) => parsed,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, &message.to_string()),
    };
    let filter =
        EventFilter { limit: DRY_RUN_CALLS, decisions_only: true, ..EventFilter::default() };
    let events = match store.query(&filter).await {
        Ok(events) => events,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
    };
    let db_rules = match store.policy_rules().await {
        Ok(rules) => rules,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
    };
    let paths = paths.clone();
    let scanned_rows = events.len();
    let outcome = tokio::task::spawn_blocking(move || replay(&paths, spec, db_rules, events)).await;
    match outcome {
        Ok(mut report) => {
            report["complete"] = json!(scanned_rows < DRY_RUN_CALLS as usize);
            Json(report).into_response()
        }
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &format!("the dry run failed: {e}")),
    }
}

fn replay(
    paths: &Paths,
    spec: RuleSpec,
    db_rules: Vec<(i64, RuleSpec)>,
    events: Vec<crate::store::StoredEvent>,
) -> Value {
    let policy = PolicyFile::load(&crate::policy::file::policy_path(paths));
    // Rate limits depend on timing, which a replay does not have.
    let mut base = policy.clone().unwrap_or_default();
    base.limits.clear();
    // The probe: the rule alone, as a deny, which nothing can override; it decided a call
    // exactly when it matched it.
    let mut probe_policy = base.clone();
    probe_policy.rules.clear();
    let mut probe_rule = spec.clone();
    probe_rule.action = Action::Deny;
    probe_rule.lift.clear();
    let live_policy = match &policy {
        Ok(_) => Ok(base),
        Err(e) => Err(e.clone()),
    };
    let mut rules = db_rules;
    rules.push((TRIED, spec));
    // Built as every server's engine is (the composition root), from the policies above.
    let env = Environment::for_paths(paths);
    let probe = PolicyInputs {
        file: Ok(probe_policy),
        db_rules: vec![(TRIED, probe_rule)],
        env: env.clone(),
        org: None,
    };
    // What the calls would meet now includes the organisation's floor.
    let org = crate::org::cached(paths, live_policy.as_ref().ok());
    let live = PolicyInputs { file: live_policy, db_rules: rules, env, org };
    let mut engines: HashMap<String, (PolicyEngine, PolicyEngine)> = HashMap::new();
    let tried = DecidedBy::Rule(format!("db:{TRIED}"));
    let (mut scanned, mut matched) = (0u64, 0u64);
    let mut changes: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut examples = Vec::new();
    for event in &events {
        if event.kind != "request" || event.method.as_deref() != Some("tools/call") {
            continue;
        }
        let Some(tool) = event.tool.as_deref() else { continue };
        scanned += 1;
        let (probe_engine, live_engine) =
            engines.entry(event.server.clone()).or_insert_with(|| {
                (probe.engine(&event.server, Vec::new()), live.engine(&event.server, Vec::new()))
            });
        let arguments: Option<Value> =
            event.args_redacted.as_deref().and_then(|a| serde_json::from_str(a).ok());
        let call = Call {
            tool,
            tool_info: None,
            arguments: arguments.as_ref(),
            args_digest: event.args_digest.as_deref(),
            client_roots: &[],
        };
        if probe_engine.decide(&call).decided_by != tried {
            continue;
        }
        matched += 1;
        let decision = live_engine.decide(&call);
        let to = decision.action.as_str().to_owned();
        *changes.entry((event.verdict.as_str().to_owned(), to.clone())).or_default() += 1;
        if examples.len() < EXAMPLES {
            examples.push(json!({
                "seq": event.seq, "ts_ms": event.ts_ms, "server": event.server, "tool": tool,
                "arguments": arguments, "from": event.verdict, "to": to,
                "decided_by": decision.decided_by.label(), "reason": decision.reason,
            }));
        }
    }
    let changes: Vec<Value> = changes
        .into_iter()
        .map(|((from, to), count)| json!({"from": from, "to": to, "count": count}))
        .collect();
    let changed: u64 = changes
        .iter()
        .filter(|c| c["from"] != c["to"])
        .map(|c| c["count"].as_u64().unwrap_or(0))
        .sum();
    json!({"scanned": scanned, "matched": matched, "changed": changed, "changes": changes,
        "examples": examples})
}

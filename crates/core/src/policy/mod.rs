//! Stage 3, *decide*: what happens to a message the firewall understood.
//!
//! A [`Policy`] sees the inspection of one message and returns a [`Ruling`]. It must be cheap
//! (it runs on every message) and must never fail open: an implementation that cannot reach a
//! conclusion refuses. [`FirewallPolicy`] is the real one: it hands tool calls to the
//! [`engine::PolicyEngine`] and lets everything else through.

pub mod attacks;
pub mod engine;
pub mod file;
pub mod org;
pub mod preview;

use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::classify::Category;
use crate::record::DecidedBy;
use crate::session::{Direction, Inspection, Kind};
use engine::{Call, PolicyEngine};
use file::{Action, Unattended};

/// The outcome of the decide stage for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Forward the message unchanged.
    Allow,
    /// Do not forward; answer the sender with this reason.
    Deny { reason: String },
    /// Hold the call until a person decides; `reason` says what it would do and why it asks.
    /// `unattended` is what happens when nobody can be asked.
    Ask { reason: String, unattended: Unattended },
}

impl Verdict {
    /// The verdict as the record keeps it.
    pub fn recorded(&self) -> crate::record::Verdict {
        match self {
            Verdict::Allow => crate::record::Verdict::Allow,
            Verdict::Deny { .. } => crate::record::Verdict::Deny,
            Verdict::Ask { .. } => crate::record::Verdict::Ask,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny { .. } => "deny",
            Verdict::Ask { .. } => "ask",
        }
    }
}

/// A verdict with what the record keeps about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ruling {
    pub verdict: Verdict,
    pub decided_by: Option<DecidedBy>,
    pub category: Option<Category>,
    pub args_digest: Option<String>,
    /// The arguments with secrets replaced, as JSON (capped in size).
    pub args_redacted: Option<String>,
    /// Findings to record.
    pub findings: Vec<crate::finding::Finding>,
    /// For an ask: the exact effect, for the person deciding.
    pub preview: preview::Preview,
    /// What the call means for the data flow of its session (see [`Flow`]).
    pub flow: Flow,
}

/// What one call contributes to its session's data flow. A session that has read private data
/// and taken in content from outside is one prompt injection away from sending that data out
/// (the "toxic flow"); the pipeline remembers both and asks before any later send, even one a
/// rule allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flow {
    /// The call reads private data: what, for the person ("`read_file` read ~/.ssh/id_rsa").
    pub private: Option<String>,
    /// The call takes in content from outside ("`fetch` read https://…").
    pub external: Option<String>,
    /// The call sends data out (network-send).
    pub sends_out: bool,
    /// What an ask of this call becomes when nobody can be asked.
    pub unattended: crate::policy::file::Unattended,
    /// The called tool, and what it read, as phrases for the client session's shared flow
    /// ("read from ~/.ssh/id_rsa", "read https://…").
    pub tool: String,
    pub private_what: Option<String>,
    pub external_what: Option<String>,
}

impl Ruling {
    /// Allowed, with nothing to add to the record.
    pub fn allow() -> Self {
        Self {
            verdict: Verdict::Allow,
            decided_by: None,
            category: None,
            args_digest: None,
            args_redacted: None,
            findings: Vec::new(),
            preview: Default::default(),
            flow: Flow::default(),
        }
    }
}

/// Decides each message. Implementations are shared by both relay directions.
pub trait Policy: Send + Sync {
    fn decide(&self, inspection: &Inspection) -> Ruling;
}

/// Allows everything that decoded correctly (for tests and measurements of the bare relay).
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Policy for AllowAll {
    fn decide(&self, _: &Inspection) -> Ruling {
        Ruling::allow()
    }
}

/// The largest redacted-argument text kept in the record.
const MAX_RECORDED_ARGS: usize = 16 * 1024;

/// The firewall's policy: tool calls go to the engine; other traffic passes.
#[derive(Debug)]
pub struct FirewallPolicy {
    engine: PolicyEngine,
}

impl FirewallPolicy {
    pub fn new(engine: PolicyEngine) -> Self {
        Self { engine }
    }

    pub fn engine(&self) -> &PolicyEngine {
        &self.engine
    }
}

impl Policy for FirewallPolicy {
    fn decide(&self, inspection: &Inspection) -> Ruling {
        if inspection.direction != Direction::ClientToServer || inspection.kind != Kind::Request {
            return Ruling::allow();
        }
        let tool = match inspection.method.as_deref() {
            Some("tools/call") => inspection.tool.as_deref().unwrap_or(""),
            // Reading a `file:` resource is reading that file: the same paths rules apply.
            Some("resources/read") if reads_a_file(inspection) => "resources/read",
            _ => return Ruling::allow(),
        };
        let raw = inspection.arguments.as_ref().map(|r| r.get());
        let args_digest = raw.map(|r| hex::encode(Sha256::digest(r.as_bytes())));
        let arguments = match raw.map(serde_json::from_str::<Value>) {
            None => None,
            Some(Ok(value)) => Some(value),
            Some(Err(e)) => {
                return refused(
                    format!(
                        "the arguments of `{tool}` cannot be read ({e}), so the call is refused"
                    ),
                    DecidedBy::Firewall,
                    Category::Unknown,
                    args_digest,
                );
            }
        };
        let call = Call {
            tool,
            tool_info: inspection.tool_info.as_deref(),
            arguments: arguments.as_ref(),
            args_digest: args_digest.as_deref(),
            client_roots: inspection.client_roots.as_deref().map_or(&[], |r| r.as_slice()),
        };
        let decision = self.engine.decide(&call);
        // The engine already scanned the arguments for secrets; redact (a second pass) only
        // when it found some, or when it stopped before scanning (an internal refusal).
        let scanned_clean =
            decision.secrets.is_empty() && decision.decided_by != DecidedBy::Firewall;
        let args_redacted = match (&arguments, raw) {
            (Some(_), Some(raw)) if scanned_clean => Some(cap(raw.to_owned())),
            (Some(args), _) => Some(cap(crate::secrets::redact(args).0.to_string())),
            (None, _) => None,
        };
        let findings = decision
            .secrets
            .iter()
            .map(|s| crate::finding::Finding::secret_in_arguments(s.kind, &s.pointer))
            .collect();
        let preview = if decision.action == Action::Ask {
            preview::build(tool, self.engine.server(), &decision, arguments.as_ref())
        } else {
            Default::default()
        };
        let unattended = self.engine.unattended_for(&decision);
        let flow = flow_of(tool, &decision, arguments.as_ref(), unattended);
        let verdict = match decision.action {
            Action::Allow => Verdict::Allow,
            Action::Deny => {
                Verdict::Deny { reason: format!("MCP Firewall refused {}", decision.reason) }
            }
            Action::Ask => Verdict::Ask { reason: decision.reason, unattended },
        };
        Ruling {
            verdict,
            decided_by: Some(decision.decided_by),
            category: Some(decision.category),
            args_digest,
            args_redacted,
            findings,
            preview,
            flow,
        }
    }
}

/// What a call means for its session's data flow: private data read (a sensitive location, a
/// secret in its arguments), outside content read (a network URL given to a read), data sent
/// out (network-send).
fn flow_of(
    tool: &str,
    decision: &crate::policy::engine::Decision,
    arguments: Option<&Value>,
    unattended: crate::policy::file::Unattended,
) -> Flow {
    let private_what = decision
        .paths
        .iter()
        .find(|p| p.sensitivity.is_some() || p.encloses.is_some())
        .map(|p| format!("read from {}", p.raw))
        .or_else(|| decision.secrets.first().map(|s| format!("was given a secret ({})", s.kind)));
    let private = decision
        .paths
        .iter()
        .find(|p| p.sensitivity.is_some() || p.encloses.is_some())
        .map(|p| format!("`{tool}` read {}", p.raw))
        .or_else(|| {
            decision.secrets.first().map(|s| format!("`{tool}` was given a secret ({})", s.kind))
        });
    let url =
        (decision.category == Category::Read).then(|| arguments.and_then(network_url)).flatten();
    let external = url.as_ref().map(|url| format!("`{tool}` read {url}"));
    Flow {
        private,
        external,
        sends_out: decision.category == Category::NetworkSend,
        unattended,
        tool: tool.to_owned(),
        private_what,
        external_what: url.map(|url| format!("read {url}")),
    }
}

/// The first `http(s)` URL among the argument strings (bounded walk).
fn network_url(value: &Value) -> Option<String> {
    fn walk(value: &Value, depth: usize) -> Option<String> {
        match value {
            Value::String(s) => {
                let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
                (lower.starts_with("http://") || lower.starts_with("https://"))
                    .then(|| crate::text::floor(s, 200).to_owned())
            }
            Value::Array(items) if depth < 16 => items.iter().find_map(|v| walk(v, depth + 1)),
            Value::Object(map) if depth < 16 => map.values().find_map(|v| walk(v, depth + 1)),
            _ => None,
        }
    }
    walk(value, 0)
}

/// Whether a `resources/read` names a `file:` URI.
fn reads_a_file(inspection: &Inspection) -> bool {
    #[derive(serde::Deserialize)]
    struct Params {
        uri: String,
    }
    inspection
        .arguments
        .as_ref()
        .and_then(|raw| serde_json::from_str::<Params>(raw.get()).ok())
        .is_some_and(|p| p.uri.get(..5).is_some_and(|scheme| scheme.eq_ignore_ascii_case("file:")))
}

fn refused(reason: String, by: DecidedBy, category: Category, digest: Option<String>) -> Ruling {
    Ruling {
        verdict: Verdict::Deny { reason },
        decided_by: Some(by),
        category: Some(category),
        args_digest: digest,
        args_redacted: None,
        findings: Vec::new(),
        preview: Default::default(),
        flow: Flow::default(),
    }
}

fn cap(text: String) -> String {
    if text.len() <= MAX_RECORDED_ARGS {
        return text;
    }
    let mut capped = crate::text::floor(&text, MAX_RECORDED_ARGS).to_owned();
    let _ = write!(capped, "… [truncated]");
    capped
}

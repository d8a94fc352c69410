//! Stage 6, *record*: every message's metadata is written down.
//!
//! A [`Recorder`] receives one [`Event`] per message (or refusal). Ordinary traffic must not
//! block the relay: implementations hand the event to a background writer. A decision that
//! refuses or holds a call is recorded with [`Recorder::record_durable`], which returns only once
//! the event is committed, so the client never learns of a decision that was not kept.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::classify::Category;
use crate::session::{Direction, Inspection};

pub use crate::names::UnknownName;
use crate::names::named_enum;
pub use crate::session::ResultStatus;

named_enum! {
    /// What was done with a message.
    pub enum Verdict as "verdict" {
        /// Forwarded.
        Allow = "allow",
        /// Refused by a rule, a guard, a detector or a person.
        Deny = "deny",
        /// Held for a person (the outcome is a later `approval` event).
        Ask = "ask",
        /// Malformed input answered with an error.
        Reject = "reject",
        /// Dropped without an answer (nobody to answer).
        Drop = "drop",
    }
}

named_enum! {
    /// What an event records.
    pub enum EventKind as "event kind" {
        Request = "request",
        Notification = "notification",
        Result = "result",
        Error = "error",
        /// A response whose id matches no request that was relayed.
        UnmatchedResponse = "unmatched_response",
        /// Input that never became a message (malformed, oversized).
        Invalid = "invalid",
        /// A finding of the background result scan, or a withheld part of a message.
        Detection = "detection",
        /// A person's (or the timeout's) answer to a held call.
        Approval = "approval",
        /// A client's configuration changed (the daemon's watch).
        ConfigChange = "config_change",
    }
}

impl From<crate::session::Kind> for EventKind {
    fn from(kind: crate::session::Kind) -> Self {
        use crate::session::Kind;
        match kind {
            Kind::Request => EventKind::Request,
            Kind::Notification => EventKind::Notification,
            Kind::Result => EventKind::Result,
            Kind::Error => EventKind::Error,
            Kind::UnmatchedResponse => EventKind::UnmatchedResponse,
        }
    }
}

/// Who (or what) made a decision. Stored and sent as its label (`rule:db:3`, `user`, …).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DecidedBy {
    /// A rule, by its id (`policy.toml` rules are `file:<name>`, database rules `db:<n>`).
    Rule(String),
    /// The built-in default for the call's category.
    Default,
    /// A person, through an approval.
    User,
    /// A detector, by name.
    Detector(String),
    /// A built-in guard (outside roots, sensitive path, secrets, egress, rate), by name.
    Guard(String),
    /// The firewall itself: malformed input, limits, internal errors (always a refusal).
    Firewall,
    /// Nobody: a person had paused protection, so a call that would have asked ran.
    Paused,
    /// A rule of the organisation policy (docs/teams.md), by the bundle's version and the
    /// rule's id: a floor no local rule, database rule or approval loosens.
    Organisation { version: u64, rule: String },
}

impl DecidedBy {
    /// The stored form: `rule:<id>`, `default`, `user`, `detector:<name>`, `guard:<name>`,
    /// `firewall`, `paused`, `org:<version>:<rule id>`.
    pub fn label(&self) -> String {
        match self {
            DecidedBy::Rule(id) => format!("rule:{id}"),
            DecidedBy::Default => "default".into(),
            DecidedBy::User => "user".into(),
            DecidedBy::Detector(name) => format!("detector:{name}"),
            DecidedBy::Guard(name) => format!("guard:{name}"),
            DecidedBy::Firewall => "firewall".into(),
            DecidedBy::Paused => "paused".into(),
            DecidedBy::Organisation { version, rule } => format!("org:{version}:{rule}"),
        }
    }
}

impl FromStr for DecidedBy {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Self, UnknownName> {
        let named = |prefix: &str| text.strip_prefix(prefix).filter(|rest| !rest.is_empty());
        match text {
            "default" => Ok(DecidedBy::Default),
            "user" => Ok(DecidedBy::User),
            "firewall" => Ok(DecidedBy::Firewall),
            "paused" => Ok(DecidedBy::Paused),
            _ => {
                if let Some(id) = named("rule:") {
                    Ok(DecidedBy::Rule(id.to_owned()))
                } else if let Some(name) = named("detector:") {
                    Ok(DecidedBy::Detector(name.to_owned()))
                } else if let Some(name) = named("guard:") {
                    Ok(DecidedBy::Guard(name.to_owned()))
                } else if let Some((version, rule)) = named("org:")
                    .and_then(|rest| rest.split_once(':'))
                    .and_then(|(v, r)| Some((v.parse().ok()?, r)))
                    .filter(|(_, r)| !r.is_empty())
                {
                    Ok(DecidedBy::Organisation { version, rule: rule.to_owned() })
                } else {
                    Err(UnknownName { what: "decider", value: text.to_owned() })
                }
            }
        }
    }
}

impl fmt::Display for DecidedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl Serialize for DecidedBy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.label())
    }
}

impl<'de> Deserialize<'de> for DecidedBy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl PartialEq<&str> for DecidedBy {
    fn eq(&self, other: &&str) -> bool {
        self.label() == *other
    }
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Milliseconds since the Unix epoch.
    pub ts_ms: u64,
    pub server: String,
    /// The connection this message belongs to (one `mcpfw wrap` process, or one HTTP session).
    pub session: String,
    pub direction: Direction,
    pub kind: EventKind,
    pub method: Option<String>,
    pub id: Option<String>,
    pub tool: Option<String>,
    /// For tool calls: what the call does.
    pub category: Option<Category>,
    pub era: &'static str,
    pub protocol_version: Option<String>,
    pub verdict: Verdict,
    pub decided_by: Option<DecidedBy>,
    pub reason: Option<String>,
    /// For a response, microseconds since its request.
    pub latency_us: Option<u64>,
    pub cancels: Option<String>,
    /// SHA-256 of the call's arguments as they arrived (hex), to match calls without storing them.
    pub args_digest: Option<String>,
    /// The arguments as JSON with secrets replaced by `[REDACTED:<kind>]`.
    pub args_redacted: Option<String>,
    /// For responses: how they ended.
    pub result_status: Option<ResultStatus>,
    /// What detectors, the secret scanner, pins and identity checks found (written as a JSON
    /// array by the store: [`crate::finding::to_text`]).
    pub findings: Vec<crate::finding::Finding>,
    pub bytes: u64,
}

impl Event {
    /// An event for a message that was inspected, with the defaults of an allowed message.
    pub fn inspected(server: &str, session: &str, inspection: &Inspection, bytes: usize) -> Self {
        Self {
            ts_ms: now_ms(),
            server: server.to_owned(),
            session: session.to_owned(),
            direction: inspection.direction,
            kind: inspection.kind.into(),
            method: inspection.method.clone(),
            id: inspection.id.as_ref().map(ToString::to_string),
            tool: inspection.tool.clone(),
            category: None,
            era: inspection.era.name(),
            protocol_version: inspection.era.version().map(str::to_owned),
            verdict: Verdict::Allow,
            decided_by: None,
            reason: None,
            latency_us: inspection.latency.map(|d| d.as_micros().try_into().unwrap_or(u64::MAX)),
            cancels: inspection.cancels.as_ref().map(ToString::to_string),
            args_digest: None,
            args_redacted: None,
            result_status: inspection.result_status,
            findings: Vec::new(),
            bytes: bytes as u64,
        }
    }

    /// An event for input that never became a message (malformed, oversized).
    pub fn refused(
        server: &str,
        session: &str,
        direction: Direction,
        verdict: Verdict,
        id: Option<String>,
        reason: String,
        bytes: u64,
    ) -> Self {
        Self {
            ts_ms: now_ms(),
            server: server.to_owned(),
            session: session.to_owned(),
            direction,
            kind: EventKind::Invalid,
            method: None,
            id,
            tool: None,
            category: None,
            era: "unknown",
            protocol_version: None,
            verdict,
            decided_by: Some(DecidedBy::Firewall),
            reason: Some(reason),
            latency_us: None,
            cancels: None,
            args_digest: None,
            args_redacted: None,
            result_status: None,
            findings: Vec::new(),
            bytes,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Why an event could not be kept.
#[derive(Debug, thiserror::Error)]
#[error("the decision could not be recorded: {0}")]
pub struct RecordError(pub String);

/// Receives every event. `record` must return quickly and must not lose what it accepted.
pub trait Recorder: Send + Sync {
    fn record(&self, event: Event);

    /// Records and returns only once the event is committed. Used for decisions that refuse or
    /// hold a call: the client is answered only after the decision is kept.
    fn record_durable(&self, event: Event) -> Result<(), RecordError> {
        self.record(event);
        self.flush();
        Ok(())
    }

    /// Waits until every accepted event is durably written.
    fn flush(&self) {}

    /// A server described its tools (`tools/list`): each tool's name and definition (JSON).
    fn tools_listed(&self, _server: &str, _tools: &[(String, String)]) {}

    /// Checks a server's tools (name, definition JSON) against their pins, pinning new ones,
    /// and waits for the answer (one per tool, in order). `None`: this recorder keeps no pins.
    fn check_tools(
        &self,
        _server: &str,
        _tools: &[(String, String)],
    ) -> Option<Result<Vec<Trust>, RecordError>> {
        None
    }

    /// Compares a server's identity with the one it was first seen with (see
    /// the store's `check_identity`) and waits for the answer: the previous identity
    /// when it changed. `None`: this recorder keeps no identities.
    fn check_identity(
        &self,
        _server: &str,
        _identity: &serde_json::Value,
    ) -> Option<Result<Option<serde_json::Value>, RecordError>> {
        None
    }

    /// Compares the package behind a server with the one pinned for it, pinning it the first
    /// time (see the store's `check_package`), and waits for the answer. `None`: this recorder
    /// keeps no pins.
    fn check_package(
        &self,
        _server: &str,
        _package: &crate::package::Identity,
    ) -> Option<Result<crate::package::PackageTrust, RecordError>> {
        None
    }
}

/// A recorder shared by several pipelines (the HTTP proxy's sessions share one).
impl<R: Recorder + ?Sized> Recorder for std::sync::Arc<R> {
    fn record(&self, event: Event) {
        (**self).record(event)
    }
    fn record_durable(&self, event: Event) -> Result<(), RecordError> {
        (**self).record_durable(event)
    }
    fn flush(&self) {
        (**self).flush()
    }
    fn tools_listed(&self, server: &str, tools: &[(String, String)]) {
        (**self).tools_listed(server, tools)
    }
    fn check_tools(
        &self,
        server: &str,
        tools: &[(String, String)],
    ) -> Option<Result<Vec<Trust>, RecordError>> {
        (**self).check_tools(server, tools)
    }
    fn check_identity(
        &self,
        server: &str,
        identity: &serde_json::Value,
    ) -> Option<Result<Option<serde_json::Value>, RecordError>> {
        (**self).check_identity(server, identity)
    }
    fn check_package(
        &self,
        server: &str,
        package: &crate::package::Identity,
    ) -> Option<Result<crate::package::PackageTrust, RecordError>> {
        (**self).check_package(server, package)
    }
}

/// Emits each event through `tracing`: `debug` for allowed traffic (off by default; the history
/// database is the record), `warn` for refusals.
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingRecorder;

impl Recorder for TracingRecorder {
    fn record(&self, e: Event) {
        macro_rules! emit {
            ($level:ident) => {
                tracing::$level!(
                    target: "mcpfw::record",
                    ts_ms = e.ts_ms,
                    server = %e.server,
                    session = %e.session,
                    direction = e.direction.as_str(),
                    kind = e.kind.as_str(),
                    method = e.method.as_deref(),
                    id = e.id.as_deref(),
                    tool = e.tool.as_deref(),
                    category = e.category.map(Category::as_str),
                    era = e.era,
                    protocol_version = e.protocol_version.as_deref(),
                    verdict = e.verdict.as_str(),
                    decided_by = e.decided_by.as_ref().map(DecidedBy::label),
                    reason = e.reason.as_deref(),
                    latency_us = e.latency_us,
                    cancels = e.cancels.as_deref(),
                    result_status = e.result_status.map(ResultStatus::as_str),
                    bytes = e.bytes,
                    "message"
                )
            };
        }
        if e.verdict == Verdict::Allow { emit!(debug) } else { emit!(warn) }
    }
}

/// Sends every event to each of several recorders (e.g. the store and the log).
pub struct Fanout(pub Vec<Box<dyn Recorder>>);

impl Recorder for Fanout {
    fn record(&self, event: Event) {
        if let Some((last, rest)) = self.0.split_last() {
            for recorder in rest {
                recorder.record(event.clone());
            }
            last.record(event);
        }
    }

    fn record_durable(&self, event: Event) -> Result<(), RecordError> {
        let mut result = Ok(());
        for recorder in &self.0 {
            if let Err(e) = recorder.record_durable(event.clone()) {
                result = Err(e);
            }
        }
        result
    }

    fn flush(&self) {
        for recorder in &self.0 {
            recorder.flush();
        }
    }

    fn tools_listed(&self, server: &str, tools: &[(String, String)]) {
        for recorder in &self.0 {
            recorder.tools_listed(server, tools);
        }
    }

    fn check_tools(
        &self,
        server: &str,
        tools: &[(String, String)],
    ) -> Option<Result<Vec<Trust>, RecordError>> {
        self.0.iter().find_map(|recorder| recorder.check_tools(server, tools))
    }

    fn check_identity(
        &self,
        server: &str,
        identity: &serde_json::Value,
    ) -> Option<Result<Option<serde_json::Value>, RecordError>> {
        self.0.iter().find_map(|recorder| recorder.check_identity(server, identity))
    }

    fn check_package(
        &self,
        server: &str,
        package: &crate::package::Identity,
    ) -> Option<Result<crate::package::PackageTrust, RecordError>> {
        self.0.iter().find_map(|recorder| recorder.check_package(server, package))
    }
}

/// What a tools list means for one tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "trust")]
pub enum Trust {
    /// Seen for the first time, and pinned now.
    New,
    /// Seen for the first time under this name, but with the content of `from`, a pinned tool
    /// of the same server that is no longer listed: a tool renamed to escape its pin. Pinned
    /// now, and reported.
    Renamed { from: String },
    /// Matches its pin.
    Pinned,
    /// Differs from its pin: withheld until the user decides.
    Changed { pinned_digest: String, digest: String },
    /// The user refused this tool's new definition: withheld.
    Blocked { digest: String },
    /// Withheld for a reason beside the tool's own definition — the package behind the server
    /// changed since it was trusted, or is known to be malicious (`crate::package`): `reason`
    /// is what a call of the tool is told, `finding` what the history keeps.
    Withheld { reason: String, finding: Box<crate::finding::Finding> },
}

impl Trust {
    pub fn withheld(&self) -> bool {
        matches!(self, Trust::Changed { .. } | Trust::Blocked { .. } | Trust::Withheld { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::DecidedBy;

    #[test]
    fn deciders_round_trip_through_their_labels() {
        for by in [
            DecidedBy::Rule("db:3".into()),
            DecidedBy::Guard("egress".into()),
            DecidedBy::Organisation { version: 12, rule: "no-shell".into() },
            DecidedBy::Organisation { version: 1, rule: "a:b".into() },
            DecidedBy::Paused,
        ] {
            assert_eq!(by.label().parse::<DecidedBy>().unwrap(), by);
        }
        assert_eq!(DecidedBy::Organisation { version: 7, rule: "x".into() }.label(), "org:7:x");
        for bad in ["org:", "org:x:y", "org:3:", "org:3"] {
            assert!(bad.parse::<DecidedBy>().is_err(), "{bad}");
        }
    }
}

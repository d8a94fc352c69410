//! The one place where the stages are put together: decode → inspect → decide → forward → record.
//!
//! A transport reads a frame, calls [`Pipeline::process`] and carries out the returned
//! [`Action`]. The pipeline never writes to a stream itself and never reorders: it is called
//! by one reader per direction, in arrival order.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::approval::{Answer, ApprovalRequest, Outcome, Scope};
use crate::policy::file::Unattended;

use crate::jsonrpc::{self, DecodeError, Decoded, ErrorCode, Frame, Id, Message};
use crate::policy::{Policy, Ruling, Verdict};
use crate::record::{self, DecidedBy, Event, EventKind, Recorder};
use crate::session::{Direction, Inspection, Kind, Session};

/// What the transport must do with a frame.
#[derive(Debug)]
pub enum Action {
    /// Forward the frame's bytes, unchanged, to the other side.
    Forward,
    /// Forward nothing; send this line to the client instead.
    AnswerClient(Vec<u8>),
    /// Forward nothing and answer nobody (the event is recorded).
    Drop,
    /// Hold the call until a person decides: the transport asks the approver (off the relay
    /// thread) and then calls [`Pipeline::settle`].
    Hold(Box<HeldCall>),
}

/// A call waiting for a person.
#[derive(Debug)]
pub struct HeldCall {
    pub id: Id,
    /// The call as it arrived, forwarded unchanged if it is approved.
    pub line: Vec<u8>,
    pub request: ApprovalRequest,
    /// Set when the client cancels the call.
    pub withdrawn: Arc<AtomicBool>,
    /// The request's progress token: while the call waits, the client is sent progress
    /// notifications under it so that clients with short timeouts keep waiting.
    pub progress_token: Option<Id>,
    unattended: Unattended,
    stateless: bool,
    /// A `tools/call` is refused with an `isError` result; other requests with an error.
    tool_call: bool,
    event: Event,
    flow: crate::policy::Flow,
}

/// Where and how long held calls wait for a person.
#[derive(Debug, Clone)]
pub struct ApproverConfig {
    pub socket: PathBuf,
    /// Tried in order when nothing listens at `socket`, and used only when owned by this user:
    /// the default places of a daemon the user started, for a shim whose client dropped its
    /// environment ([`crate::paths::Paths::default_sockets`]).
    pub fallbacks: Vec<PathBuf>,
    pub timeout: Duration,
}

/// What to do once a held call is settled.
#[derive(Debug)]
pub enum Settled {
    /// Forward the held line to the server.
    Forward(Vec<u8>),
    /// Answer the client with this line.
    AnswerClient(Vec<u8>),
    /// Nothing to send (the client cancelled).
    Nothing,
}

/// Limits applied before decoding.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest message, in bytes, that is relayed.
    pub max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_message_bytes: 64 * 1024 * 1024 }
    }
}

/// The stages for one connection.
pub struct Pipeline {
    server: String,
    /// Identifies this connection in the record.
    session_id: String,
    session: Mutex<Session>,
    policy: Box<dyn Policy>,
    recorder: Arc<dyn Recorder>,
    limits: Limits,
    approver: Option<ApproverConfig>,
    /// Calls a person approved for longer than once: (tool, argument digest) → until when.
    approved: Mutex<HashMap<(String, String), Option<Instant>>>,
    /// Held calls by id, to withdraw them when the client cancels.
    held: Mutex<HashMap<Id, Arc<AtomicBool>>>,
    /// Multi-round-trip calls (2026-07-28) a person approved: see [`Retries`].
    retries: Mutex<Retries>,
    /// Tools withheld from the client: name → why (see [`Withheld`]).
    withheld: Mutex<HashMap<String, Withheld>>,
    /// What this session's calls have read so far (see [`crate::policy::Flow`]).
    taint: Arc<Mutex<Taint>>,
    /// Scans tool results for injected text off the relay's critical path.
    scanner: crate::screen::ResultScanner,
    /// Other servers' tools (server, name, definition), for shadowing and squatting.
    neighbours: Vec<(String, String, String)>,
    /// The program that runs the server, and its script when the program is an interpreter:
    /// part of the server's identity, checked once per connection.
    identity: Option<(PathBuf, Option<PathBuf>)>,
    identity_checked: AtomicBool,
    /// Withheld tools (tool, reason) the person has been told of through the daemon.
    notified: Mutex<std::collections::HashSet<(String, String)>>,
}

/// A tool kept from the client.
#[derive(Debug, Clone)]
struct Withheld {
    /// Its definition as listed.
    definition: String,
    /// Why, as the client is told when it calls the tool anyway.
    reason: String,
    /// Withheld because it differs from its pin: trusting it (`mcpfw tools trust`) releases it,
    /// which a call checks again. Otherwise the detector blocked it: only a new list can.
    pin: bool,
}

/// What screening a server's message decided.
#[derive(Debug, Default)]
struct Screened {
    /// The message to send instead (tools withheld, hidden text removed).
    line: Option<Vec<u8>>,
    findings: Vec<serde_json::Value>,
    reason: Option<String>,
    /// Record before forwarding (something was withheld).
    durable: bool,
    /// Queue the message for the background result scan.
    scan_later: bool,
}

/// The first call of a session that read private data, and the first that took in content from
/// outside.
#[derive(Debug, Default)]
struct Taint {
    private: Option<String>,
    external: Option<String>,
}

impl Taint {
    /// A result of `tool` carried injected instructions: outside content, if none came before.
    fn injected(&mut self, tool: &Option<String>) {
        self.external.get_or_insert_with(|| {
            format!(
                "the result of `{}` carried injected instructions",
                tool.as_deref().unwrap_or("?")
            )
        });
    }
}

/// How long an approved call's `input_required` answer stays valid for the client's retry.
const RETRY_WINDOW: Duration = Duration::from_secs(600);
/// How many approved calls awaiting their result, or retries, are remembered at once.
const MAX_RETRIES: usize = 1024;

/// A stateless-era server may answer a call with `input_required` (it needs, say, a form filled
/// in); the client then sends the call again with the answers and the server's `requestState`.
/// That retry is the call the person already approved, so it is not asked about again: an
/// approved call's id is remembered until its result, and an `input_required` result turns into
/// a pass for exactly that `requestState`, tool and argument digest, used once (the retry's own
/// result can grant the next round).
#[derive(Default)]
struct Retries {
    /// Approved calls forwarded and awaiting their result: id → (tool, argument digest).
    awaiting: HashMap<Id, (String, String)>,
    /// `requestState` → (tool, argument digest, valid until).
    passes: HashMap<String, (String, String, Instant)>,
}

impl Retries {
    fn forwarded(&mut self, id: Id, tool: String, digest: String) {
        if self.awaiting.len() >= MAX_RETRIES {
            self.awaiting.clear();
        }
        self.awaiting.insert(id, (tool, digest));
    }

    /// A result arrived for `id`; an `input_required` one grants a pass to its retry.
    fn answered(&mut self, id: &Id, input_required: Option<&String>) {
        let Some((tool, digest)) = self.awaiting.remove(id) else { return };
        if let Some(state) = input_required {
            let now = Instant::now();
            self.passes.retain(|_, (_, _, until)| *until > now);
            if self.passes.len() < MAX_RETRIES {
                self.passes.insert(state.clone(), (tool, digest, now + RETRY_WINDOW));
            }
        }
    }

    /// Whether a call retries an approved one; the pass is used up.
    fn take(&mut self, state: &str, tool: &str, digest: &str) -> bool {
        match self.passes.remove(state) {
            Some((t, d, until)) => t == tool && d == digest && Instant::now() < until,
            None => false,
        }
    }
}

impl Pipeline {
    /// Sends asks to the approval daemon at `config.socket` (without it, asks follow the
    /// unattended setting at once).
    pub fn with_approver(mut self, config: ApproverConfig) -> Self {
        self.approver = Some(config);
        self
    }

    /// Checks the server's identity — what it calls itself, `program` and `script` (when the
    /// program runs a script file) with their SHA-256 — against the one it was first seen with.
    pub fn with_identity(mut self, program: PathBuf, script: Option<PathBuf>) -> Self {
        self.identity = Some((program, script));
        self
    }

    /// Compares listed tools with these tools of other servers (server, name, definition).
    pub fn with_neighbours(mut self, neighbours: Vec<(String, String, String)>) -> Self {
        self.neighbours = neighbours;
        self
    }

    pub fn approver(&self) -> Option<&ApproverConfig> {
        self.approver.as_ref()
    }

    pub fn new(
        server: impl Into<String>,
        policy: Box<dyn Policy>,
        recorder: Box<dyn Recorder>,
        limits: Limits,
    ) -> Self {
        let recorder: Arc<dyn Recorder> = Arc::from(recorder);
        let taint = Arc::new(Mutex::new(Taint::default()));
        let found_taint = taint.clone();
        let scanner = crate::screen::ResultScanner::start(
            recorder.clone(),
            Arc::new(move |event: &Event, findings: &[serde_json::Value]| {
                if findings.iter().any(injected) {
                    found_taint.lock().unwrap_or_else(|p| p.into_inner()).injected(&event.tool);
                }
            }),
        );
        Self {
            server: server.into(),
            session_id: new_session_id(),
            session: Mutex::new(Session::new()),
            policy,
            recorder,
            limits,
            approver: None,
            approved: Mutex::new(HashMap::new()),
            held: Mutex::new(HashMap::new()),
            retries: Mutex::new(Retries::default()),
            withheld: Mutex::new(HashMap::new()),
            taint,
            scanner,
            neighbours: Vec::new(),
            identity: None,
            identity_checked: AtomicBool::new(false),
            notified: Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// The name under which this connection's server is recorded.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// This connection's session id (as recorded): what the egress proxy records its
    /// connections under, so they sit with the session's calls in the history.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Where this connection's events go (shared with what records beside it: the egress proxy).
    pub fn recorder(&self) -> Arc<dyn Recorder> {
        self.recorder.clone()
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Runs a read-only closure over the session state (for tests and status).
    pub fn with_session<T>(&self, f: impl FnOnce(&Session) -> T) -> T {
        f(&self.session.lock().unwrap_or_else(|poison| poison.into_inner()))
    }

    /// Records a fact about the server's box (`firewall/containment`) durably.
    pub fn record_containment(&self, verdict: record::Verdict, reason: String) {
        let mut event = Event::refused(
            &self.server,
            &self.session_id,
            Direction::ServerToClient,
            verdict,
            None,
            reason,
            0,
        );
        event.kind = EventKind::Notification;
        event.method = Some(crate::containment::HISTORY_METHOD.to_owned());
        if let Err(e) = self.recorder.record_durable(event) {
            tracing::warn!(error = %e, "the server's box could not be recorded");
        }
    }

    /// Waits until every recorded event is written (and every queued result scanned).
    pub fn flush(&self) {
        self.scanner.flush();
        self.recorder.flush();
    }

    /// Decides what to do with one frame that arrived travelling in `direction`.
    pub fn process(&self, direction: Direction, frame: &Frame<'_>) -> Action {
        let line = match frame {
            Frame::Line(line) => *line,
            Frame::Oversized { len, head, tail } => {
                let id = jsonrpc::recover_id(head, tail);
                let reason = format!(
                    "message of {len} bytes exceeds MCP Firewall's limit of {} bytes \
                     (raise it with `mcpfw wrap --max-message-bytes`)",
                    self.limits.max_message_bytes
                );
                return self.refuse(direction, id, ErrorCode::InvalidRequest, reason, *len);
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            return Action::Drop; // blank lines carry nothing; stdio peers sometimes emit them
        }
        let decoded = match jsonrpc::decode(line) {
            Ok(decoded) => decoded,
            Err(error) => {
                let code = match error {
                    DecodeError::InvalidUtf8 { .. } | DecodeError::Parse { .. } => {
                        ErrorCode::ParseError
                    }
                    _ => ErrorCode::InvalidRequest,
                };
                let id = match &error {
                    DecodeError::TooDeep { .. } => {
                        let edge = line.len().min(512);
                        jsonrpc::recover_id(&line[..edge], &line[line.len() - edge..])
                    }
                    _ => error.id().cloned(),
                };
                return self.refuse(direction, id, code, error.to_string(), line.len() as u64);
            }
        };
        let mut session = self.session.lock().unwrap_or_else(|poison| poison.into_inner());
        match decoded {
            Decoded::Single(message) => {
                let inspection = session.inspect(direction, &message);
                drop(session);
                if let Some(cancelled) = &inspection.cancels
                    && let Some(flag) =
                        self.held.lock().unwrap_or_else(|p| p.into_inner()).get(cancelled)
                {
                    flag.store(true, Ordering::Relaxed);
                }
                if direction == Direction::ServerToClient
                    && inspection.kind == Kind::Result
                    && let Some(id) = &inspection.id
                {
                    let mut retries = self.retries.lock().unwrap_or_else(|p| p.into_inner());
                    if !retries.awaiting.is_empty() {
                        retries.answered(id, inspection.input_required.as_ref());
                    }
                }
                if let Some(refusal) =
                    self.withheld_call(&inspection).or_else(|| unoffered_call(&inspection))
                {
                    let ruling = Ruling {
                        verdict: Verdict::Deny { reason: refusal.clone() },
                        decided_by: Some(DecidedBy::Firewall),
                        ..Ruling::allow()
                    };
                    let event = self.event(&inspection, &ruling, line.len());
                    if let Err(e) = self.recorder.record_durable(event) {
                        tracing::error!(error = %e, "a refusal could not be recorded");
                    }
                    return self.deny(&inspection, &refusal);
                }
                let mut ruling = self.policy.decide(&inspection);
                self.check_flow(&mut ruling);
                let screened = self.screen(&inspection, line);
                let mut event = self.event(&inspection, &ruling, line.len());
                match ruling.verdict {
                    Verdict::Allow => {
                        if !screened.findings.is_empty() {
                            event.findings =
                                serde_json::Value::Array(screened.findings).to_string();
                            event.reason = screened.reason;
                        }
                        if screened.scan_later && !self.scanner.submit(event.clone(), line) {
                            let mut skipped = event.clone();
                            skipped.kind = EventKind::Detection;
                            skipped.reason = Some(format!(
                                "a result of {} bytes was passed on without scanning it for \
                                 injected text: the scanner was busy with earlier results",
                                line.len()
                            ));
                            self.recorder.record(skipped);
                        }
                        if screened.durable {
                            if let Err(e) = self.recorder.record_durable(event) {
                                tracing::error!(error = %e, "withheld tools could not be recorded");
                            }
                        } else {
                            self.recorder.record(event);
                        }
                        self.took(&ruling.flow);
                        match screened.line {
                            Some(line) => Action::AnswerClient(line),
                            None => Action::Forward,
                        }
                    }
                    Verdict::Deny { reason } => {
                        // The decision is kept before the client hears of it.
                        if let Err(e) = self.recorder.record_durable(event) {
                            tracing::error!(error = %e, "a refusal could not be recorded");
                        }
                        self.deny(&inspection, &reason)
                    }
                    Verdict::Ask { reason, unattended } => {
                        let key = inspection.tool.clone().zip(ruling.args_digest.clone());
                        // An organisation ask is asked every time (docs/teams.md).
                        let floor =
                            matches!(ruling.decided_by, Some(DecidedBy::Organisation { .. }));
                        if !floor && key.as_ref().is_some_and(|k| self.already_approved(k)) {
                            event.verdict = record::Verdict::Allow;
                            event.decided_by = Some(DecidedBy::User);
                            event.reason =
                                Some(format!("{reason}; you approved identical calls earlier"));
                            self.recorder.record(event);
                            self.took(&ruling.flow);
                            return Action::Forward;
                        }
                        if let (Some(state), Some((tool, digest)), Some(id)) =
                            (&inspection.request_state, &key, &inspection.id)
                        {
                            let mut retries =
                                self.retries.lock().unwrap_or_else(|p| p.into_inner());
                            if retries.take(state, tool, digest) {
                                retries.forwarded(id.clone(), tool.clone(), digest.clone());
                                drop(retries);
                                event.verdict = record::Verdict::Allow;
                                event.decided_by = Some(DecidedBy::User);
                                event.reason = Some(format!(
                                    "{reason}; you approved this call, and the client sent it \
                                     again with the answers the server asked for"
                                ));
                                self.recorder.record(event);
                                self.took(&ruling.flow);
                                return Action::Forward;
                            }
                        }
                        event.reason = Some(reason.clone());
                        if let Err(e) = self.recorder.record_durable(event.clone()) {
                            tracing::error!(error = %e, "an ask could not be recorded");
                            return self.deny(&inspection, &format!("MCP Firewall refused {reason}: the decision could not be recorded ({e})"));
                        }
                        let Some(id) = inspection.id.clone() else {
                            return Action::Drop;
                        };
                        let withdrawn = Arc::new(AtomicBool::new(false));
                        self.held
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(id.clone(), withdrawn.clone());
                        let request = ApprovalRequest {
                            server: self.server.clone(),
                            session: self.session_id.clone(),
                            tool: inspection.tool.clone().unwrap_or_default(),
                            category: event
                                .category
                                .unwrap_or(crate::classify::Category::Unknown)
                                .as_str()
                                .to_owned(),
                            reason,
                            arguments: event.args_redacted.clone(),
                            args_digest: event.args_digest.clone(),
                            preview: ruling.preview.lines.clone(),
                            confirm: ruling.preview.confirm.clone(),
                            organisation: match &ruling.decided_by {
                                Some(DecidedBy::Organisation { version, .. }) => Some(*version),
                                _ => None,
                            },
                        };
                        Action::Hold(Box::new(HeldCall {
                            id,
                            line: line.to_vec(),
                            request,
                            withdrawn,
                            progress_token: inspection.progress_token.clone(),
                            unattended,
                            stateless: matches!(
                                inspection.era,
                                crate::session::Era::Stateless { .. }
                            ),
                            tool_call: inspection.method.as_deref() == Some("tools/call"),
                            event,
                            flow: ruling.flow,
                        }))
                    }
                }
            }
            Decoded::Batch(messages) => {
                let inspections: Vec<_> =
                    messages.iter().map(|m| session.inspect(direction, m)).collect();
                drop(session);
                let mut denied = None;
                for inspection in &inspections {
                    let ruling = self.policy.decide(inspection);
                    let event = self.event(inspection, &ruling, line.len());
                    match ruling.verdict {
                        Verdict::Allow => self.recorder.record(event),
                        // A batch is forwarded whole or not at all, so it cannot wait for one of
                        // its calls to be approved.
                        Verdict::Deny { reason } | Verdict::Ask { reason, .. } => {
                            if let Err(e) = self.recorder.record_durable(event) {
                                tracing::error!(error = %e, "a refusal could not be recorded");
                            }
                            denied.get_or_insert(format!("MCP Firewall refused {reason} (calls in a batch cannot wait for approval; send them one by one)"));
                        }
                    }
                }
                if denied.is_some() {
                    let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
                    for inspection in &inspections {
                        if let (Kind::Request, Some(id)) = (inspection.kind, &inspection.id) {
                            session.abandon(direction, id);
                        }
                    }
                }
                // One member denied denies the whole batch: it is forwarded as one line or not at all.
                match denied {
                    None => Action::Forward,
                    Some(reason) => self.deny_batch(direction, &messages, &reason),
                }
            }
        }
    }

    /// Checks listed tools against their pins; returns the tools to withhold from the client,
    /// each with a finding (JSON) that says why. When the pins cannot be checked, every tool
    /// is withheld: an unchecked tool could be a changed one.
    fn vet_tools(
        &self,
        tools: &[(String, String)],
        flagged: &mut Vec<serde_json::Value>,
    ) -> Vec<(String, serde_json::Value)> {
        use crate::record::Trust;
        let server = &self.server;
        let checked = match self.recorder.check_tools(server, tools) {
            None => return Vec::new(),
            Some(Ok(trust)) if trust.len() == tools.len() => Ok(trust),
            Some(Ok(_)) => Err("the pin check answered for the wrong number of tools".to_owned()),
            Some(Err(e)) => Err(e.to_string()),
        };
        let mut withheld = self.withheld.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (i, (name, definition)) in tools.iter().enumerate() {
            let (reason, finding) = match &checked {
                Ok(trust) => match &trust[i] {
                    Trust::New | Trust::Pinned => {
                        withheld.remove(name);
                        continue;
                    }
                    Trust::Renamed { from } => {
                        withheld.remove(name);
                        flagged.push(serde_json::json!({
                            "kind": "renamed-tool", "severity": "flag", "where": format!("tool {name}"),
                            "evidence": format!("`{name}` is new, but has the definition of `{from}`, a tool you trusted that this server no longer lists"),
                        }));
                        continue;
                    }
                    Trust::Changed { pinned_digest, digest } => (
                        format!(
                            "MCP Firewall withholds tool `{name}`: its definition changed since it was first trusted (pinned {}, now {}). Review the change with `mcpfw tools diff {server} {name}`, then `mcpfw tools trust {server} {name}` or `mcpfw tools block {server} {name}`.",
                            short(pinned_digest),
                            short(digest)
                        ),
                        serde_json::json!({"kind": "tool-changed", "severity": "block", "tool": name, "pinned": pinned_digest, "digest": digest}),
                    ),
                    Trust::Blocked { digest } => (
                        format!(
                            "MCP Firewall withholds tool `{name}`: you kept its changed definition ({}) blocked (`mcpfw tools`)",
                            short(digest)
                        ),
                        serde_json::json!({"kind": "tool-blocked", "severity": "block", "tool": name, "digest": digest}),
                    ),
                    Trust::Withheld { reason, finding } => (reason.clone(), finding.clone()),
                },
                Err(e) => (
                    format!(
                        "MCP Firewall withholds tool `{name}`: its definition could not be checked against the one you trusted ({e})"
                    ),
                    serde_json::json!({"kind": "pin-check-failed", "severity": "block", "tool": name}),
                ),
            };
            withheld.insert(
                name.clone(),
                Withheld { definition: definition.clone(), reason, pin: true },
            );
            out.push((name.clone(), finding));
        }
        out
    }

    /// For a call of a withheld tool: why it is refused — unless its definition has been trusted
    /// since (`mcpfw tools trust`), which is checked again now.
    fn withheld_call(&self, inspection: &Inspection) -> Option<String> {
        if inspection.method.as_deref() != Some("tools/call")
            || inspection.direction != Direction::ClientToServer
        {
            return None;
        }
        let tool = inspection.tool.as_ref()?;
        let withheld =
            self.withheld.lock().unwrap_or_else(|p| p.into_inner()).get(tool).cloned()?;
        if !withheld.pin {
            return Some(withheld.reason);
        }
        let listed = [(tool.clone(), withheld.definition)];
        if self.vet_tools(&listed, &mut Vec::new()).is_empty() {
            return None;
        }
        Some(withheld.reason)
    }

    /// A call that sends data out, in a session that has read private data and taken in
    /// content from outside, is asked about — even when a rule allows it — naming both.
    fn check_flow(&self, ruling: &mut Ruling) {
        if !ruling.flow.sends_out {
            return;
        }
        let taint = self.taint.lock().unwrap_or_else(|p| p.into_inner());
        let (Some(private), Some(external)) = (&taint.private, &taint.external) else {
            return;
        };
        let context = format!(
            "this session read private data ({private}) and took in content from outside \
             ({external}), so a send now could be an injected instruction leaking that data"
        );
        match &mut ruling.verdict {
            Verdict::Allow => {
                ruling.verdict = Verdict::Ask {
                    reason: format!("a network send: {context}"),
                    unattended: ruling.flow.unattended,
                };
                ruling.decided_by = Some(DecidedBy::Guard("toxic-flow".to_owned()));
                ruling
                    .preview
                    .lines
                    .push(format!("Earlier in this session: {private}; {external}."));
                ruling.preview.confirm.get_or_insert_with(|| {
                    "Send data out after this session read private data?".to_owned()
                });
            }
            Verdict::Ask { reason, .. } => reason.push_str(&format!("; also, {context}")),
            Verdict::Deny { .. } => {}
        }
    }

    /// Remembers what a call that runs reads (the first of each kind).
    fn took(&self, flow: &crate::policy::Flow) {
        if flow.private.is_none() && flow.external.is_none() {
            return;
        }
        let mut taint = self.taint.lock().unwrap_or_else(|p| p.into_inner());
        if taint.private.is_none() {
            taint.private.clone_from(&flow.private);
        }
        if taint.external.is_none() {
            taint.external.clone_from(&flow.external);
        }
    }

    /// Screens what a server sends (see [`crate::screen`]): tool lists against their pins and
    /// the detector, other lists and `initialize` instructions for hidden text and poisoning,
    /// tool results for hidden text (at once) and injected text (in the background).
    fn screen(&self, inspection: &Inspection, line: &[u8]) -> Screened {
        use crate::screen;
        let mut out = Screened::default();
        if inspection.direction != Direction::ServerToClient || inspection.kind != Kind::Result {
            return out;
        }
        if matches!(inspection.method.as_deref(), Some("initialize" | "server/discover")) {
            self.check_identity(line, inspection);
        }
        match inspection.method.as_deref() {
            Some("tools/list") => {
                let Some(tools) = &inspection.tools_listed else { return out };
                self.recorder.tools_listed(&self.server, tools);
                let pinned = self.vet_tools(tools, &mut out.findings);
                let mut names: Vec<String> = pinned.iter().map(|(n, _)| n.clone()).collect();
                out.findings.extend(pinned.into_iter().map(|(_, f)| f));
                let mut hidden = false;
                out.findings.extend(screen::shadowing(tools, &self.neighbours));
                let verdicts = screen::screen_tools(tools);
                let mut withheld = self.withheld.lock().unwrap_or_else(|p| p.into_inner());
                for (verdict, (_, definition)) in verdicts.into_iter().zip(tools.iter()) {
                    out.findings.extend(verdict.findings);
                    hidden |= verdict.hidden;
                    match verdict.blocked {
                        Some(reason) => {
                            if !names.contains(&verdict.name) {
                                names.push(verdict.name.clone());
                            }
                            withheld.insert(
                                verdict.name,
                                Withheld { definition: definition.clone(), reason, pin: false },
                            );
                        }
                        None => {
                            if withheld.get(&verdict.name).is_some_and(|w| !w.pin) {
                                withheld.remove(&verdict.name);
                            }
                        }
                    }
                }
                if let Some(approver) = &self.approver {
                    let mut notified = self.notified.lock().unwrap_or_else(|p| p.into_inner());
                    for name in &names {
                        if let Some(w) = withheld.get(name)
                            && notified.insert((name.clone(), w.reason.clone()))
                        {
                            crate::approval::client::notice(
                                &approver.socket,
                                &self.server,
                                name,
                                &w.reason,
                            );
                        }
                    }
                }
                drop(withheld);
                if !names.is_empty() {
                    out.reason = Some(format!("withheld {}", names.join(", ")));
                    out.durable = true;
                } else if !out.findings.is_empty() {
                    out.reason = Some("the tool list has findings".to_owned());
                }
                if !names.is_empty() || hidden {
                    out.line = Some(rewrite_list(line, "tools", &names));
                }
            }
            Some("tools/call") => {
                if !screen::may_hide_text(line) {
                    out.scan_later = true;
                    return out;
                }
                let Ok(value) = serde_json::from_slice::<serde_json::Value>(line) else {
                    return out;
                };
                let findings = value
                    .get("result")
                    .map(|r| screen::recorded(&crate::detect::scan_result(r), "result"))
                    .unwrap_or_default();
                if findings.iter().any(injected) {
                    self.taint.lock().unwrap_or_else(|p| p.into_inner()).injected(&inspection.tool);
                }
                out.line = screen::sanitized_line(value);
                if !findings.is_empty() {
                    out.reason = Some("the result carries text aimed at the model".to_owned());
                }
                out.findings = findings;
            }
            Some(method @ ("prompts/list" | "resources/list" | "initialize")) => {
                if method == "initialize"
                    && memchr::memmem::find(line, b"\"instructions\"").is_none()
                    && !screen::may_hide_text(line)
                {
                    return out; // nothing in it is read by the model as prose
                }
                let Ok(value) = serde_json::from_slice::<serde_json::Value>(line) else {
                    return out;
                };
                let result = value.get("result").cloned().unwrap_or_default();
                let (key, scan): (&str, fn(&serde_json::Value) -> Vec<crate::detect::Finding>) =
                    match method {
                        "prompts/list" => ("prompts", crate::detect::scan_prompt),
                        "resources/list" => ("resources", crate::detect::scan_resource),
                        _ => ("", |_| Vec::new()),
                    };
                let mut names = Vec::new();
                if let Some(items) = result.get(key).and_then(|v| v.as_array()) {
                    for item in items {
                        let name = item["name"].as_str().unwrap_or("?");
                        let findings = scan(item);
                        if key == "prompts"
                            && let Some(command) = crate::detect::slash_command_collision(name)
                        {
                            out.findings.push(serde_json::json!({"kind": "slash-command-collision", "severity": "flag", "where": format!("prompt {name}"), "evidence": command}));
                        }
                        if findings.iter().any(|f| f.severity == crate::detect::Severity::Block) {
                            names.push(name.to_owned());
                        }
                        out.findings.extend(screen::recorded(&findings, &format!("{key} {name}")));
                    }
                }
                if let Some(text) = result.get("instructions").and_then(|v| v.as_str()) {
                    out.findings.extend(screen::recorded(
                        &crate::detect::scan_instructions(text),
                        "instructions",
                    ));
                }
                if !names.is_empty() {
                    out.reason = Some(format!("withheld {}", names.join(", ")));
                    out.durable = true;
                    out.line = Some(rewrite_list(line, key, &names));
                } else {
                    out.line = screen::sanitized_line(value);
                }
                if out.reason.is_none() && !out.findings.is_empty() {
                    out.reason = Some(format!("the {method} result has findings"));
                }
            }
            _ => {}
        }
        out
    }

    /// Once per connection, when the server says who it is: compares its identity with the one
    /// it was first seen with, on a thread of its own (hashing the program takes a moment), and
    /// records a flagged `detection` event when it changed.
    fn check_identity(&self, line: &[u8], inspection: &Inspection) {
        let Some((program, script)) = self.identity.clone() else { return };
        if self.identity_checked.swap(true, Ordering::Relaxed) {
            return;
        }
        let value: serde_json::Value = serde_json::from_slice(line).unwrap_or_default();
        let info = value
            .pointer("/result/serverInfo")
            .or_else(|| value.pointer("/result/_meta/io.modelcontextprotocol~1serverInfo"))
            .cloned()
            .unwrap_or_default();
        let recorder = self.recorder.clone();
        let server = self.server.clone();
        let mut event = Event::inspected(&self.server, &self.session_id, inspection, 0);
        let spawned = std::thread::Builder::new().name("mcpfw-identity".into()).spawn(move || {
            crate::sys::lower_priority();
            let identity = serde_json::json!({
                "name": info.get("name"),
                "program": program.display().to_string(),
                "program_sha256": sha256_file(&program),
                "script": script.as_ref().map(|s| s.display().to_string()),
                "script_sha256": script.as_deref().and_then(sha256_file),
            });
            let Some(Ok(Some(previous))) = recorder.check_identity(&server, &identity) else {
                return;
            };
            let changed: Vec<String> =
                ["name", "program", "program_sha256", "script", "script_sha256"]
                    .iter()
                    .filter(|k| previous.get(**k) != identity.get(**k))
                    .map(|k| format!("{k}: {} → {}", previous[*k], identity[*k]))
                    .collect();
            event.kind = EventKind::Detection;
            event.ts_ms = crate::record::now_ms();
            event.reason = Some(format!(
                "server `{server}` is not the one first seen under this name ({}): an update, or \
                 a different server",
                changed.join("; ")
            ));
            event.findings = serde_json::json!([{"kind": "server-changed", "severity": "flag",
                "where": format!("server {server}"), "evidence": changed.join("; ")}])
            .to_string();
            recorder.record(event);
        });
        if let Err(e) = spawned {
            tracing::warn!("the server's identity is not checked: {e}");
        }
    }

    /// Withdraws every held call (the client disconnected).
    pub fn withdraw_held(&self) {
        for flag in self.held.lock().unwrap_or_else(|p| p.into_inner()).values() {
            flag.store(true, Ordering::Relaxed);
        }
    }

    fn already_approved(&self, key: &(String, String)) -> bool {
        let mut approved = self.approved.lock().unwrap_or_else(|p| p.into_inner());
        match approved.get(key) {
            Some(None) => true,
            Some(Some(until)) if Instant::now() < *until => true,
            Some(Some(_)) => {
                approved.remove(key);
                false
            }
            None => false,
        }
    }

    /// Finishes a held call with what the approver said (or why nobody could be asked): records
    /// the outcome before anyone hears of it, and says what to send.
    pub fn settle(
        &self,
        held: HeldCall,
        answer: Result<Answer, crate::approval::client::Unreachable>,
    ) -> Settled {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).remove(&held.id);
        let reason = &held.request.reason;
        let (allow, by, told) = match &answer {
            Ok(a) if a.outcome == Outcome::Allowed => {
                (true, DecidedBy::User, format!("{reason}; you approved it"))
            }
            Ok(a) if a.outcome == Outcome::Paused => (
                true,
                DecidedBy::Paused,
                format!(
                    "{reason}; it ran without asking because protection was paused in MCP Firewall"
                ),
            ),
            Ok(a) if a.outcome == Outcome::Withdrawn => (
                false,
                DecidedBy::User,
                format!("{reason}; the client cancelled it while it waited"),
            ),
            Ok(a) if a.outcome == Outcome::TimedOut => {
                (false, DecidedBy::Firewall, format!("MCP Firewall refused {reason}: {}", a.note))
            }
            Ok(a) => (false, DecidedBy::User, format!("MCP Firewall refused {reason}: {}", a.note)),
            Err(unreachable) => match held.unattended {
                Unattended::Allow => (
                    true,
                    DecidedBy::Firewall,
                    format!(
                        "{reason}; nobody could be asked ({unreachable}), and unattended calls are allowed"
                    ),
                ),
                Unattended::Deny => (
                    false,
                    DecidedBy::Firewall,
                    format!(
                        "MCP Firewall refused {reason}. This call needs your approval, and no approver is running ({unreachable}). \
                     Start MCP Firewall (`mcpfw daemon` or the desktop app) to approve such calls, or allow them with a rule \
                     (`mcpfw rules add --help`)."
                    ),
                ),
            },
        };
        if let (Ok(a), true) = (&answer, allow)
            && a.scope != Scope::Once
            && let Some(digest) = &held.request.args_digest
        {
            let until =
                (a.scope == Scope::Hour).then(|| Instant::now() + Duration::from_secs(3600));
            self.approved
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert((held.request.tool.clone(), digest.clone()), until);
        }
        let mut event = held.event.clone();
        event.ts_ms = crate::record::now_ms();
        event.kind = EventKind::Approval;
        event.verdict = if allow { record::Verdict::Allow } else { record::Verdict::Deny };
        event.decided_by = Some(by);
        event.reason = Some(told.clone());
        if let Err(e) = self.recorder.record_durable(event) {
            tracing::error!(error = %e, "an approval could not be recorded");
            if allow {
                // Fail closed: an approval that is not kept does not run.
                let reason = format!(
                    "MCP Firewall refused {reason}: the approval could not be recorded ({e})"
                );
                return self.settle_refusal(&held, &reason);
            }
        }
        if allow {
            self.took(&held.flow);
            if held.stateless
                && held.tool_call
                && let Some(digest) = &held.request.args_digest
            {
                self.retries.lock().unwrap_or_else(|p| p.into_inner()).forwarded(
                    held.id.clone(),
                    held.request.tool.clone(),
                    digest.clone(),
                );
            }
            return Settled::Forward(held.line.clone());
        }
        if matches!(answer, Ok(Answer { outcome: Outcome::Withdrawn, .. })) {
            self.session
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .abandon(Direction::ClientToServer, &held.id);
            return Settled::Nothing; // a cancelled request gets no answer
        }
        self.settle_refusal(&held, &told)
    }

    fn settle_refusal(&self, held: &HeldCall, reason: &str) -> Settled {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .abandon(Direction::ClientToServer, &held.id);
        if held.tool_call {
            Settled::AnswerClient(jsonrpc::tool_error_result(&held.id, reason, held.stateless))
        } else {
            Settled::AnswerClient(jsonrpc::error_response(
                Some(&held.id),
                ErrorCode::Denied,
                reason,
            ))
        }
    }

    fn event(&self, inspection: &Inspection, ruling: &Ruling, bytes: usize) -> Event {
        let mut event = Event::inspected(&self.server, &self.session_id, inspection, bytes);
        event.verdict = ruling.verdict.recorded();
        if let Verdict::Deny { reason } | Verdict::Ask { reason, .. } = &ruling.verdict {
            event.reason = Some(reason.clone());
        }
        event.decided_by = ruling.decided_by.clone();
        event.category = ruling.category;
        event.args_digest = ruling.args_digest.clone();
        event.args_redacted = ruling.args_redacted.clone();
        if !ruling.findings.is_empty() {
            event.findings = serde_json::Value::Array(ruling.findings.clone()).to_string();
        }
        event
    }

    /// Answers a refused message: a tool call gets a tool result with `isError: true` (what MCP
    /// clients show the model and the user); other requests a JSON-RPC error; the rest nothing.
    fn deny(&self, inspection: &Inspection, reason: &str) -> Action {
        let Some(id) = inspection.id.as_ref() else {
            return Action::Drop;
        };
        if inspection.direction != Direction::ClientToServer || inspection.kind != Kind::Request {
            return Action::Drop;
        }
        self.session.lock().unwrap_or_else(|p| p.into_inner()).abandon(inspection.direction, id);
        if inspection.method.as_deref() == Some("tools/call") {
            let stateless = matches!(inspection.era, crate::session::Era::Stateless { .. });
            Action::AnswerClient(jsonrpc::tool_error_result(id, reason, stateless))
        } else {
            Action::AnswerClient(jsonrpc::error_response(Some(id), ErrorCode::Denied, reason))
        }
    }

    fn deny_batch(&self, direction: Direction, messages: &[Message<'_>], reason: &str) -> Action {
        if direction != Direction::ClientToServer {
            return Action::Drop;
        }
        let answers: Vec<String> = messages
            .iter()
            .filter(|m| matches!(m, Message::Request { .. }))
            .map(|m| {
                String::from_utf8_lossy(&jsonrpc::error_response(m.id(), ErrorCode::Denied, reason))
                    .into_owned()
            })
            .collect();
        if answers.is_empty() {
            return Action::Drop;
        }
        Action::AnswerClient(format!("[{}]", answers.join(",")).into_bytes())
    }

    /// Input that is not a relayable message. The client is told (for its own messages, or for a
    /// server response it is waiting on); nothing is forwarded.
    fn refuse(
        &self,
        direction: Direction,
        id: Option<Id>,
        code: ErrorCode,
        reason: String,
        bytes: u64,
    ) -> Action {
        let answer = match direction {
            Direction::ClientToServer => Some(jsonrpc::error_response(id.as_ref(), code, &reason)),
            Direction::ServerToClient => {
                // Only answer if the id belongs to a request the client is waiting on.
                let waiting = id.as_ref().is_some_and(|id| {
                    let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
                    session.abandon(Direction::ClientToServer, id)
                });
                waiting.then(|| {
                    let message =
                        format!("MCP Firewall could not pass on the server's response: {reason}");
                    jsonrpc::error_response(id.as_ref(), ErrorCode::BadServerResponse, &message)
                })
            }
        };
        let verdict =
            if answer.is_some() { record::Verdict::Reject } else { record::Verdict::Drop };
        self.recorder.record(Event::refused(
            &self.server,
            &self.session_id,
            direction,
            verdict,
            id.map(|id| id.to_string()),
            reason,
            bytes,
        ));
        answer.map_or(Action::Drop, Action::AnswerClient)
    }
}

/// The first 12 hex digits of a digest, for messages.
fn short(digest: &str) -> &str {
    crate::text::floor(digest, 12)
}

/// A list response (`key`: `tools`, `prompts`, `resources`) without the withheld items and
/// with hidden text removed from every string. A response that cannot be re-read is replaced
/// by an empty list: nothing withheld may slip through.
fn rewrite_list(line: &[u8], key: &str, withheld: &[String]) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(line).unwrap_or_default();
    let pointer = format!("/result/{key}");
    if let Some(items) = value.pointer_mut(&pointer).and_then(|t| t.as_array_mut()) {
        items
            .retain(|item| !item["name"].as_str().is_some_and(|n| withheld.iter().any(|w| w == n)));
    } else if let Some(result) = value.get_mut("result") {
        result[key] = serde_json::Value::Array(Vec::new());
    }
    crate::detect::sanitize_value(&mut value);
    serde_json::to_vec(&value).unwrap_or_default()
}

/// The SHA-256 (hex) of a file's first 512 MiB; `None` when it cannot be read.
fn sha256_file(path: &std::path::Path) -> Option<String> {
    use sha2::Digest;
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file.take(512 << 20));
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(_) => return None,
        }
    }
    Some(hex::encode(hasher.finalize()))
}

/// Whether a recorded finding is an instruction aimed at the model (not merely hidden text or
/// a secret).
fn injected(finding: &serde_json::Value) -> bool {
    matches!(
        finding["kind"].as_str(),
        Some(
            "model-directive"
                | "injected-instruction"
                | "forged-turn"
                | "fake-error"
                | "concealment"
                | "exfiltration"
                | "credential-access"
                | "cross-tool-instruction"
        )
    )
}

/// A random connection id (128 bits, hex).
fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Unique enough for a record label when the OS has no randomness to give.
        let pid = std::process::id() as u128;
        bytes = (pid << 64 | u128::from(crate::record::now_ms())).to_be_bytes();
    }
    hex::encode(bytes)
}

/// The refusal of a call to a tool the server never listed (its whole list is known), which
/// the server itself would answer "tool not found": said precisely rather than asked about as
/// an unknown tool, so a typo reads as one.
fn unoffered_call(inspection: &Inspection) -> Option<String> {
    if !inspection.unoffered
        || inspection.method.as_deref() != Some("tools/call")
        || inspection.direction != Direction::ClientToServer
    {
        return None;
    }
    let tool = inspection.tool.as_ref()?;
    Some(format!(
        "this server did not offer a tool named `{}` (it is not in the server's tools/list); \
         check the tool's name",
        crate::text::visible(crate::text::floor(tool, 200))
    ))
}

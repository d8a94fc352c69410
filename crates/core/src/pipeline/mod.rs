//! The one place where the stages are put together: admit and decode → inspect → gate →
//! decide → guard the flow → screen → record → forward, answer or hold for a person.
//!
//! A transport reads a frame, calls [`Pipeline::process`] and carries out the returned
//! [`Action`]. The pipeline never writes to a stream itself and never reorders: it is called
//! by one reader per direction, in arrival order. Each stage is a small type in a module of its
//! own that owns its state ([`held`], [`retries`], [`gate`], [`flow`], [`memory`],
//! [`screening`]); [`Pipeline::single`] reads top to bottom in the order they run. What a stage
//! wants done beyond the frame (a notice to the daemon, hashing the server's files) comes back
//! as an [`Effect`] that the pipeline's [`Effects`] runner carries out, so no stage does I/O.

mod effects;
mod flow;
mod frame;
mod gate;
mod held;
mod input;
mod memory;
mod retries;
mod screening;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::approval::{Answer, ApprovalRequest, Outcome};
use crate::policy::file::Unattended;

use crate::jsonrpc::{self, Decoded, ErrorCode, Frame, Id, Message};
use crate::policy::{Policy, Ruling, Verdict};
use crate::record::{self, DecidedBy, Event, EventKind, Recorder};
use crate::session::{Direction, Inspection, Kind, Session};

pub use effects::{Background, Effect, Effects, IdentityCheck};
use flow::FlowGuard;
use frame::{Admitted, Unreadable};
use gate::ToolGate;
use held::HeldCalls;
pub use input::Origin as InputOrigin;
use memory::ApprovalMemory;
use retries::RetryPasses;
use screening::{Screened, Screening};
use std::sync::Mutex;

/// What the transport must do with a frame.
#[derive(Debug)]
pub enum Action {
    /// Forward the frame's bytes, unchanged, to the other side.
    Forward,
    /// Forward nothing; send this line to the client instead.
    AnswerClient(Vec<u8>),
    /// Forward nothing; send this line to the server instead (a server's request for input
    /// declined for the person).
    AnswerServer(Vec<u8>),
    /// Forward nothing and answer nobody (the event is recorded).
    Drop,
    /// Hold the call until a person decides: the transport asks the approver (off the relay
    /// thread) and then calls [`Pipeline::settle`].
    Hold(Box<HeldCall>),
}

/// A call — or a server's request for input — waiting for a person.
#[derive(Debug)]
pub struct HeldCall {
    pub id: Id,
    /// What it waits under (apart from the client's ids for a server's request for input).
    key: Id,
    /// For a server's request for input: where it came from (it goes on to the client).
    pub input: Option<InputOrigin>,
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

pub use crate::approval::ApproverConfig;

/// What to do once a held call is settled.
#[derive(Debug)]
pub enum Settled {
    /// Forward the held line to the server.
    Forward(Vec<u8>),
    /// Forward the held line to the client (a server's request for input the person let through).
    ForwardToClient(Vec<u8>),
    /// Answer the server with this line (its request for input, declined).
    AnswerServer(Vec<u8>),
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
    limits: Limits,
    /// Inspect: what is known of the conversation so far (requests in flight, era, tools).
    session: Mutex<Session>,
    /// Calls waiting for a person, withdrawn when the client cancels.
    held: HeldCalls,
    /// Approved calls whose `input_required` answers let their retries through.
    retries: RetryPasses,
    /// Tools kept from the client, and the refusal of calls to them.
    gate: ToolGate,
    /// Decide: the rules.
    policy: Box<dyn Policy>,
    /// What this session's calls have read so far: a send after private and outside data meet
    /// is asked about.
    flow: FlowGuard,
    /// What the server sends: tool lists, instructions, results.
    screening: Screening,
    /// Calls a person approved for the session or an hour.
    memory: ApprovalMemory,
    /// Where asks go (without it, asks follow the unattended setting at once).
    approver: Option<ApproverConfig>,
    /// The client process this connection serves: its data flow is shared, through the
    /// daemon, with the client's other connections.
    client: Option<crate::approval::ClientSession>,
    /// Record: every decision, durable before a refusal or an ask is acted on.
    recorder: Arc<dyn Recorder>,
    /// Carries out what the stages ask beyond the frame.
    effects: Arc<dyn Effects>,
    /// Keeps roots the client announced that the running box does not grant, for the
    /// server's next start (a box cannot grow around a running process).
    later_roots: Option<LaterRoots>,
    /// Where the result scanner reports injected instructions for the client session (set
    /// once the client session, the approver and the effects runner are known).
    injections: Arc<Mutex<Option<InjectionReport>>>,
}

/// Remembers roots for a server's next start (see [`Pipeline::with_later_roots`]).
pub type LaterRoots = Arc<dyn Fn(&[PathBuf]) -> std::io::Result<()> + Send + Sync>;

/// What the result scanner needs to report an injected result to the client session's flow.
struct InjectionReport {
    server: String,
    sockets: Vec<PathBuf>,
    client: crate::approval::ClientSession,
    effects: Arc<dyn Effects>,
}

impl Pipeline {
    pub fn new(
        server: impl Into<String>,
        policy: Box<dyn Policy>,
        recorder: Box<dyn Recorder>,
        limits: Limits,
    ) -> Self {
        let recorder: Arc<dyn Recorder> = Arc::from(recorder);
        let server: String = server.into();
        let flow = FlowGuard::default();
        let found = flow.clone();
        let injections: Arc<Mutex<Option<InjectionReport>>> = Arc::default();
        let report = injections.clone();
        let scanner = crate::screen::ResultScanner::start(
            recorder.clone(),
            Arc::new(move |event: &Event, findings: &[crate::finding::Finding]| {
                if findings.iter().any(crate::finding::Finding::is_injection) {
                    found.injected(&event.tool);
                    let report = report.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(r) = report.as_ref() {
                        r.effects.carry_out(Effect::Took {
                            sockets: r.sockets.clone(),
                            client: r.client,
                            private: None,
                            fragments: Vec::new(),
                            external: Some(crate::approval::Intake {
                                server: r.server.clone(),
                                tool: event.tool.clone().unwrap_or_default(),
                                what: "took in a result with injected instructions".to_owned(),
                            }),
                        });
                    }
                }
            }),
        );
        Self {
            server,
            session_id: new_session_id(),
            limits,
            session: Mutex::new(Session::new()),
            held: HeldCalls::default(),
            retries: RetryPasses::default(),
            gate: ToolGate::default(),
            policy,
            flow,
            screening: Screening {
                scanner,
                neighbours: Vec::new(),
                identity: None,
                identity_checked: AtomicBool::new(false),
                grants: None,
                clean_lists: crate::clean_lists::CleanLists::none(),
            },
            memory: ApprovalMemory::default(),
            approver: None,
            client: None,
            recorder,
            effects: Arc::new(Background),
            later_roots: None,
            injections,
        }
    }

    /// Roots the client announces that the box does not grant are handed to `keep` (which
    /// remembers them for the server's next start) and recorded.
    pub fn with_later_roots(mut self, keep: LaterRoots) -> Self {
        self.later_roots = Some(keep);
        self
    }

    /// Roots announced after start that the running box does not grant for writing: recorded,
    /// and kept for the next start. Roots inside hidden locations are never kept.
    fn roots_after_start(&self, announced: &[PathBuf]) {
        let Some(grants) = &self.screening.grants else { return };
        use crate::containment::{Access, Refusal};
        let outside: Vec<PathBuf> = announced
            .iter()
            .filter(|r| {
                matches!(
                    grants.refusal(r, Some(Access::Write)),
                    Some((_, Refusal::ReadOnly | Refusal::OutsideGrants))
                )
            })
            .cloned()
            .collect();
        if outside.is_empty() {
            return;
        }
        let list: Vec<String> = outside.iter().map(|p| p.display().to_string()).collect();
        let kept = match &self.later_roots {
            Some(keep) => match keep(&outside) {
                Ok(()) => "they are granted from its next start",
                Err(e) => {
                    tracing::warn!(server = %self.server, "roots announced later are not kept: {e}");
                    "they could not be kept for its next start"
                }
            },
            None => "restart it with them as roots (`--root`) to grant them",
        };
        self.record_containment(
            record::Verdict::Allow,
            format!(
                "the client announced roots the running box does not grant: {}; a box cannot \
                 grow around a running server, so until it restarts the system refuses writes \
                 there; {kept}",
                list.join(", ")
            ),
        );
    }

    /// Sends asks to the approval daemon at `config.socket` (without it, asks follow the
    /// unattended setting at once).
    pub fn with_approver(mut self, config: ApproverConfig) -> Self {
        self.approver = Some(config);
        self.share_injections();
        self
    }

    /// Shares this connection's data flow with the other connections of `client` (through the
    /// approver's daemon): private data read under one server and a send under another meet.
    pub fn with_client_session(mut self, client: Option<crate::approval::ClientSession>) -> Self {
        self.client = client;
        self.share_injections();
        self
    }

    /// Lets the result scanner report injected results to the client session's flow.
    fn share_injections(&self) {
        let report = match (self.client, &self.approver) {
            (Some(client), Some(approver)) => Some(InjectionReport {
                server: self.server.clone(),
                sockets: approver.sockets(),
                client,
                effects: self.effects.clone(),
            }),
            _ => None,
        };
        *self.injections.lock().unwrap_or_else(|p| p.into_inner()) = report;
    }

    /// Remembers what a call that runs takes in, here and (fire and forget) in the daemon's
    /// state for the client session.
    fn took(&self, flow: &crate::policy::Flow) {
        self.flow.took(flow);
        let (Some(client), Some(approver)) = (self.client, &self.approver) else {
            return;
        };
        if flow.private_what.is_none() && flow.external_what.is_none() {
            return;
        }
        let intake = |what: &Option<String>| {
            what.as_ref().map(|what| crate::approval::Intake {
                server: self.server.clone(),
                tool: flow.tool.clone(),
                what: what.clone(),
            })
        };
        self.effects.carry_out(Effect::Took {
            sockets: approver.sockets(),
            client,
            private: intake(&flow.private_what),
            external: intake(&flow.external_what),
            fragments: Vec::new(),
        });
    }

    /// The result of a call that read private data: its fragments are remembered here and
    /// (fire and forget) for the client session.
    fn read_private(&self, line: &[u8], intake: crate::approval::Intake) {
        const MAX_RESULT: usize = 8 << 20;
        if line.len() > MAX_RESULT {
            return;
        }
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(line) else { return };
        let fragments = crate::approval::flows::fragments(&value["result"]);
        if fragments.is_empty() {
            return;
        }
        self.flow.remember(intake.clone(), fragments.clone());
        if let (Some(client), Some(approver)) = (self.client, &self.approver) {
            self.effects.carry_out(Effect::Took {
                sockets: approver.sockets(),
                client,
                private: Some(intake),
                external: None,
                fragments,
            });
        }
    }

    /// What this connection's client session took in under its other servers (see
    /// [`Effects::session_taint`]).
    fn shared_taint(&self, fragments: &[String]) -> Option<crate::approval::SessionTaint> {
        let (client, approver) = (self.client?, self.approver.as_ref()?);
        self.effects.session_taint(&approver.sockets(), client, fragments)
    }

    /// Checks the server's identity — what it calls itself, `program` and `script` (when the
    /// program runs a script file) with their SHA-256 — against the one it was first seen with.
    pub fn with_identity(mut self, program: PathBuf, script: Option<PathBuf>) -> Self {
        self.screening.identity = Some((program, script));
        self
    }

    /// The server runs in a box that grants `grants`: its errors that name a permission error
    /// for a path the box does not grant are recorded as containment denials.
    pub fn with_box(mut self, grants: crate::containment::Grants) -> Self {
        self.screening.grants = Some(Arc::new(grants));
        self
    }

    /// Compares listed tools with these tools of other servers (server, name, definition).
    /// Tool lists found clean are remembered in `lists` (see [`crate::clean_lists`]).
    pub fn with_clean_lists(mut self, lists: crate::clean_lists::CleanLists) -> Self {
        self.screening.clean_lists = lists;
        self
    }

    pub fn with_neighbours(mut self, neighbours: Vec<(String, String, String)>) -> Self {
        self.screening.neighbours = neighbours;
        self
    }

    /// Carries out the stages' effects with `effects` instead of [`Background`].
    pub fn with_effects(mut self, effects: Box<dyn Effects>) -> Self {
        self.effects = Arc::from(effects);
        self.share_injections();
        self
    }

    pub fn approver(&self) -> Option<&ApproverConfig> {
        self.approver.as_ref()
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
        self.screening.scanner.flush();
        self.recorder.flush();
    }

    /// Withdraws every held call (the client disconnected).
    pub fn withdraw_held(&self) {
        self.held.withdraw_all();
    }

    /// Decides what to do with one frame that arrived travelling in `direction`.
    pub fn process(&self, direction: Direction, frame: &Frame<'_>) -> Action {
        let (line, decoded) = match frame::admit(frame, self.limits) {
            Admitted::Decoded(line, decoded) => (line, decoded),
            Admitted::Blank => return Action::Drop,
            Admitted::Unreadable(unreadable) => return self.unreadable(direction, unreadable),
        };
        match decoded {
            Decoded::Single(message) => {
                let mut effects = Vec::new();
                let action = self.single(direction, line, &message, &mut effects);
                for effect in effects {
                    self.effects.carry_out(effect);
                }
                if direction == Direction::ServerToClient {
                    crate::screen::warm_up_soon();
                }
                action
            }
            Decoded::Batch(messages) => self.batch(direction, line, &messages),
        }
    }

    /// One message, through the stages in the order they run.
    fn single(
        &self,
        direction: Direction,
        line: &[u8],
        message: &Message<'_>,
        effects: &mut Vec<Effect>,
    ) -> Action {
        // Inspect: the session learns what this message is and what it answers.
        let inspection =
            self.session.lock().unwrap_or_else(|p| p.into_inner()).inspect(direction, message);
        // Roots announced after start: the box cannot grow now; they are kept for the next.
        if let Some(roots) = &inspection.roots_announced {
            self.roots_after_start(roots);
        }
        // A cancellation reaches a waiting call whatever happens to the message itself.
        self.held.cancel(&inspection);
        // A result for an approved call may let its retry through without a second prompt.
        self.retries.note_result(&inspection);
        // The result of a call that read private data: its fragments are remembered.
        if direction == Direction::ServerToClient
            && inspection.kind == Kind::Result
            && let Some(id) = &inspection.id
            && let Some(intake) = self.flow.private_result(&id.to_string())
        {
            self.read_private(line, intake);
        }
        // What the server asks the person for is judged before the client shows it.
        let asked = input::read(&inspection, line, &self.server);
        if let Some(asked) = &asked
            && asked.judged.judgement != crate::input::Judgement::Pass
        {
            return self.input(&inspection, line, asked);
        }
        // Withheld and unoffered tools are refused before any rule is read.
        if let Some(refusal) = self.gate.refusal(&self.server, self.recorder.as_ref(), &inspection)
        {
            let ruling = Ruling {
                verdict: Verdict::Deny { reason: refusal.clone() },
                decided_by: Some(DecidedBy::Firewall),
                ..Ruling::allow()
            };
            self.record_durable(self.event(&inspection, &ruling, line.len()), "a refusal");
            return self.deny(&inspection, &refusal);
        }
        // The rules decide; the flow guard can only tighten what they said.
        let mut ruling = self.policy.decide(&inspection);
        if let (Some(id), Some(what)) = (&inspection.id, &ruling.flow.private_what)
            && direction == Direction::ClientToServer
        {
            let intake = crate::approval::Intake {
                server: self.server.clone(),
                tool: ruling.flow.tool.clone(),
                what: what.clone(),
            };
            self.flow.expect(id.to_string(), intake);
        }
        let outbound = match (&inspection.arguments, ruling.flow.sends_out) {
            (Some(raw), true) => serde_json::from_str::<serde_json::Value>(raw.get())
                .map(|args| crate::approval::flows::fragments(&args))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        self.flow.check(&mut ruling, &outbound, |f| self.shared_taint(f));
        // What the server sends is screened (client messages pass through untouched).
        let screened = self.screen(&inspection, line, effects);
        let mut event = self.event(&inspection, &ruling, line.len());
        if let Some(asked) = asked {
            event.reason = Some(asked.judged.summary);
        }
        // The verdict is taken out (the event already carries it); the rest of the ruling goes on.
        match std::mem::replace(&mut ruling.verdict, Verdict::Allow) {
            Verdict::Allow => self.allow(line, event, screened, &ruling),
            Verdict::Deny { reason } => {
                // The decision is kept before the client hears of it.
                self.record_durable(event, "a refusal");
                self.deny(&inspection, &reason)
            }
            Verdict::Ask { reason, unattended } => {
                self.ask(line, &inspection, event, ruling, reason, unattended)
            }
        }
    }

    /// An allowed message: recorded (before it goes on when something was withheld from it),
    /// queued for the background scan when it is a result, and forwarded — or replaced by its
    /// screened version.
    fn allow(&self, line: &[u8], mut event: Event, screened: Screened, ruling: &Ruling) -> Action {
        let denials = screened.denials;
        if !screened.findings.is_empty() {
            event.findings = screened.findings;
            event.reason = screened.reason;
        }
        if screened.scan_later && !self.screening.scanner.submit(event.clone(), line) {
            let mut skipped = event.clone();
            skipped.kind = EventKind::Detection;
            skipped.reason = Some(format!(
                "a result of {} bytes was passed on without scanning it for injected text: the \
                 scanner was busy with earlier results",
                line.len()
            ));
            self.recorder.record(skipped);
        }
        if screened.durable {
            self.record_durable(event, "withheld tools");
        } else {
            self.recorder.record(event);
        }
        self.took(&ruling.flow);
        // After the result they explain; the result itself goes on unchanged.
        for denial in denials {
            if let Some(reason) = &denial.reason {
                tracing::warn!(server = %self.server, "{reason}");
            }
            self.recorder.record(denial);
        }
        match screened.line {
            Some(line) => Action::AnswerClient(line),
            None => Action::Forward,
        }
    }

    /// A call the rules ask about: let through when the person already approved identical
    /// calls, or when it retries an approved call; otherwise recorded and held for a person.
    fn ask(
        &self,
        line: &[u8],
        inspection: &Inspection,
        mut event: Event,
        ruling: Ruling,
        reason: String,
        unattended: Unattended,
    ) -> Action {
        let key = inspection.tool.clone().zip(ruling.args_digest.clone());
        // An organisation ask is asked every time (docs/teams.md).
        let organisation = match &ruling.decided_by {
            Some(DecidedBy::Organisation { version, .. }) => Some(*version),
            _ => None,
        };
        match key.as_ref().and_then(|k| self.memory.recall(k)) {
            Some((true, _)) if organisation.is_none() => {
                event.verdict = record::Verdict::Allow;
                event.decided_by = Some(DecidedBy::User);
                event.reason = Some(format!("{reason}; you approved identical calls earlier"));
                self.recorder.record(event);
                self.took(&ruling.flow);
                return Action::Forward;
            }
            // A refusal is remembered as an approval is, and not asked about again.
            Some((false, scope)) => {
                let told = format!(
                    "MCP Firewall refused {reason}: earlier you refused identical calls {}",
                    memory::scope_words(scope)
                );
                event.verdict = record::Verdict::Deny;
                event.decided_by = Some(DecidedBy::User);
                event.reason = Some(told.clone());
                self.record_durable(event, "a remembered refusal");
                return self.deny(inspection, &told);
            }
            _ => {}
        }
        if let (Some(state), Some((tool, digest)), Some(id)) =
            (&inspection.request_state, &key, &inspection.id)
            && self.retries.retry(id, state, tool, digest)
        {
            event.verdict = record::Verdict::Allow;
            event.decided_by = Some(DecidedBy::User);
            event.reason = Some(format!(
                "{reason}; you approved this call, and the client sent it again with the answers \
                 the server asked for"
            ));
            self.recorder.record(event);
            self.took(&ruling.flow);
            return Action::Forward;
        }
        event.reason = Some(reason.clone());
        if let Err(e) = self.recorder.record_durable(event.clone()) {
            tracing::error!(error = %e, "an ask could not be recorded");
            return self.deny(
                inspection,
                &format!("MCP Firewall refused {reason}: the decision could not be recorded ({e})"),
            );
        }
        let Some(id) = inspection.id.clone() else {
            return Action::Drop;
        };
        let withdrawn = self.held.hold(id.clone());
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
            preview: ruling.preview.lines,
            confirm: ruling.preview.confirm,
            organisation,
        };
        Action::Hold(Box::new(HeldCall {
            key: id.clone(),
            id,
            input: None,
            line: line.to_vec(),
            request,
            withdrawn,
            progress_token: inspection.progress_token.clone(),
            unattended,
            stateless: matches!(inspection.era, crate::session::Era::Stateless { .. }),
            tool_call: inspection.method.as_deref() == Some("tools/call"),
            event,
            flow: ruling.flow,
        }))
    }

    /// A request for input that is refused outright or shown to the person first (a plain
    /// form passes on with the other messages). Refused: the server's own request is declined
    /// for the person; a result that asks for input answers the client's call with the refusal.
    fn input(&self, inspection: &Inspection, line: &[u8], asked: &input::Asked) -> Action {
        let Some(id) = inspection.id.clone() else { return Action::Drop };
        let stateless = matches!(inspection.era, crate::session::Era::Stateless { .. });
        let tool_call = inspection.method.as_deref() == Some("tools/call");
        let judged = &asked.judged;
        let mut event = Event::inspected(&self.server, &self.session_id, inspection, line.len());
        event.decided_by = Some(DecidedBy::Firewall);
        // Shown first: a person looks at the link (and what it really opens) before the
        // client offers to open it — unless it is refused outright, or cannot be recorded.
        let reason = format!("a request for input: {}", judged.summary);
        let refused = match &judged.judgement {
            crate::input::Judgement::Refuse(why) => Some(why.clone()),
            _ => {
                event.verdict = record::Verdict::Ask;
                event.reason = Some(reason.clone());
                match self.recorder.record_durable(event.clone()) {
                    Ok(()) => None,
                    Err(e) => Some(format!("it could not be recorded ({e})")),
                }
            }
        };
        if let Some(why) = refused {
            let told = format!(
                "MCP Firewall refused a request for input from {}: {why}. ({})",
                self.server, judged.summary
            );
            event.verdict = record::Verdict::Deny;
            event.reason = Some(told.clone());
            self.record_durable(event, "a refused request for input");
            tracing::warn!(server = %self.server, "{told}");
            return match asked.origin {
                input::Origin::Request => {
                    self.session
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .abandon(Direction::ServerToClient, &id);
                    Action::AnswerServer(input::decline(&id))
                }
                input::Origin::Result => {
                    Action::AnswerClient(refusal(&id, tool_call, stateless, &told))
                }
            };
        }
        let key = input::held_key(asked.origin, &id);
        let withdrawn = self.held.hold(key.clone());
        let request = ApprovalRequest {
            server: self.server.clone(),
            session: self.session_id.clone(),
            tool: match asked.origin {
                input::Origin::Request => "request for input".to_owned(),
                input::Origin::Result => {
                    inspection.tool.clone().unwrap_or_else(|| "request for input".to_owned())
                }
            },
            category: "input".to_owned(),
            reason,
            arguments: None,
            args_digest: None,
            preview: judged.lines.clone(),
            confirm: None,
            organisation: None,
        };
        Action::Hold(Box::new(HeldCall {
            id,
            key,
            input: Some(asked.origin),
            line: line.to_vec(),
            request,
            withdrawn,
            progress_token: None,
            // Nobody to ask: a link with doubts is declined; one without goes to the client,
            // which shows it as it would without MCP Firewall (the check is in the history).
            unattended: if judged.doubtful { Unattended::Deny } else { Unattended::Allow },
            stateless,
            tool_call,
            event,
            flow: crate::policy::Flow::default(),
        }))
    }

    /// A batch is decided member by member but forwarded whole or not at all, so it cannot
    /// wait for one of its calls to be approved: one member refused or asked about refuses it.
    fn batch(&self, direction: Direction, line: &[u8], messages: &[Message<'_>]) -> Action {
        let inspections: Vec<_> = {
            let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
            messages.iter().map(|m| session.inspect(direction, m)).collect()
        };
        let mut denied = None;
        for inspection in &inspections {
            let ruling = self.policy.decide(inspection);
            let event = self.event(inspection, &ruling, line.len());
            match ruling.verdict {
                Verdict::Allow => self.recorder.record(event),
                Verdict::Deny { reason } | Verdict::Ask { reason, .. } => {
                    self.record_durable(event, "a refusal");
                    denied.get_or_insert(format!("MCP Firewall refused {reason} (calls in a batch cannot wait for approval; send them one by one)"));
                }
            }
        }
        let Some(reason) = denied else { return Action::Forward };
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        for inspection in &inspections {
            if let (Kind::Request, Some(id)) = (inspection.kind, &inspection.id) {
                session.abandon(direction, id);
            }
        }
        drop(session);
        self.deny_batch(direction, messages, &reason)
    }

    /// Finishes a held call with what the approver said (or why nobody could be asked): records
    /// the outcome before anyone hears of it, and says what to send.
    pub fn settle(
        &self,
        held: HeldCall,
        answer: Result<Answer, crate::approval::client::Unreachable>,
    ) -> Settled {
        self.held.release(&held.key);
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
        // What a person decided for longer than once is remembered, a refusal as an approval.
        if let Ok(a) = &answer
            && matches!(a.outcome, Outcome::Allowed | Outcome::Denied)
            && let Some(digest) = &held.request.args_digest
        {
            self.memory.remember(
                &held.request.tool,
                digest,
                a.outcome == Outcome::Allowed,
                a.scope,
            );
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
        if allow && held.input.is_some() {
            return Settled::ForwardToClient(held.line.clone());
        }
        if allow {
            self.took(&held.flow);
            if held.stateless
                && held.tool_call
                && let Some(digest) = &held.request.args_digest
            {
                self.retries.forwarded(held.id.clone(), held.request.tool.clone(), digest.clone());
            }
            return Settled::Forward(held.line.clone());
        }
        if matches!(answer, Ok(Answer { outcome: Outcome::Withdrawn, .. })) {
            // A server's request waits in the server's id space, the client's in its own.
            let direction = match held.input {
                Some(InputOrigin::Request) => Direction::ServerToClient,
                _ => Direction::ClientToServer,
            };
            self.session.lock().unwrap_or_else(|p| p.into_inner()).abandon(direction, &held.id);
            return Settled::Nothing; // a cancelled request gets no answer
        }
        self.settle_refusal(&held, &told)
    }

    fn settle_refusal(&self, held: &HeldCall, reason: &str) -> Settled {
        if held.input == Some(InputOrigin::Request) {
            self.session
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .abandon(Direction::ServerToClient, &held.id);
            return Settled::AnswerServer(input::decline(&held.id));
        }
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .abandon(Direction::ClientToServer, &held.id);
        Settled::AnswerClient(refusal(&held.id, held.tool_call, held.stateless, reason))
    }

    /// Records `event` before anything acts on it; a failure is logged as `what`.
    fn record_durable(&self, event: Event, what: &str) {
        if let Err(e) = self.recorder.record_durable(event) {
            tracing::error!(error = %e, "{what} could not be recorded");
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
            event.findings = ruling.findings.clone();
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
        let tool_call = inspection.method.as_deref() == Some("tools/call");
        let stateless = matches!(inspection.era, crate::session::Era::Stateless { .. });
        Action::AnswerClient(refusal(id, tool_call, stateless, reason))
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
    fn unreadable(&self, direction: Direction, unreadable: Unreadable) -> Action {
        let Unreadable { id, code, reason, bytes } = unreadable;
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

/// The client's refused request: a tool call gets a tool result with `isError: true` (what MCP
/// clients show the model and the user); other requests a JSON-RPC error.
fn refusal(id: &Id, tool_call: bool, stateless: bool, reason: &str) -> Vec<u8> {
    if tool_call {
        jsonrpc::tool_error_result(id, reason, stateless)
    } else {
        jsonrpc::error_response(Some(id), ErrorCode::Denied, reason)
    }
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

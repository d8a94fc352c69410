//! The one place where the stages are put together: decode → inspect → decide → forward → record.
//!
//! A transport reads a frame, calls [`Pipeline::process`] and carries out the returned
//! [`Action`]. The pipeline never writes to a stream itself and never reorders: it is called
//! by one reader per direction, in arrival order.

use std::sync::Mutex;

use crate::jsonrpc::{self, DecodeError, Decoded, ErrorCode, Frame, Id, Message};
use crate::policy::{Policy, Ruling, Verdict};
use crate::record::{DecidedBy, Event, Recorder};
use crate::session::{Direction, Inspection, Kind, Session};

/// What the transport must do with a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Forward the frame's bytes, unchanged, to the other side.
    Forward,
    /// Forward nothing; send this line to the client instead.
    AnswerClient(Vec<u8>),
    /// Forward nothing and answer nobody (the event is recorded).
    Drop,
}

/// Limits applied before decoding.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest message, in bytes, that is relayed.
    pub max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The stages for one connection.
pub struct Pipeline {
    server: String,
    /// Identifies this connection in the record.
    session_id: String,
    session: Mutex<Session>,
    policy: Box<dyn Policy>,
    recorder: Box<dyn Recorder>,
    limits: Limits,
}

impl Pipeline {
    pub fn new(
        server: impl Into<String>,
        policy: Box<dyn Policy>,
        recorder: Box<dyn Recorder>,
        limits: Limits,
    ) -> Self {
        Self {
            server: server.into(),
            session_id: new_session_id(),
            session: Mutex::new(Session::new()),
            policy,
            recorder,
            limits,
        }
    }

    /// The name under which this connection's server is recorded.
    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Runs a read-only closure over the session state (for tests and status).
    pub fn with_session<T>(&self, f: impl FnOnce(&Session) -> T) -> T {
        f(&self
            .session
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()))
    }

    /// Waits until every recorded event is written.
    pub fn flush(&self) {
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
        let mut session = self
            .session
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        match decoded {
            Decoded::Single(message) => {
                let inspection = session.inspect(direction, &message);
                drop(session);
                let ruling = self.policy.decide(&inspection);
                if let Some(tools) = &inspection.tools_listed {
                    self.recorder.tools_listed(&self.server, tools);
                }
                let event = self.event(&inspection, &ruling, line.len());
                match ruling.verdict {
                    Verdict::Allow => {
                        self.recorder.record(event);
                        Action::Forward
                    }
                    Verdict::Deny { reason } => {
                        // The decision is kept before the client hears of it.
                        if let Err(e) = self.recorder.record_durable(event) {
                            tracing::error!(error = %e, "a refusal could not be recorded");
                        }
                        self.deny(&inspection, &reason)
                    }
                }
            }
            Decoded::Batch(messages) => {
                let inspections: Vec<_> = messages
                    .iter()
                    .map(|m| session.inspect(direction, m))
                    .collect();
                drop(session);
                let mut denied = None;
                for inspection in &inspections {
                    let ruling = self.policy.decide(inspection);
                    let event = self.event(inspection, &ruling, line.len());
                    if let Verdict::Deny { reason } = ruling.verdict {
                        if let Err(e) = self.recorder.record_durable(event) {
                            tracing::error!(error = %e, "a refusal could not be recorded");
                        }
                        denied.get_or_insert(reason);
                    } else {
                        self.recorder.record(event);
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

    fn event(&self, inspection: &Inspection, ruling: &Ruling, bytes: usize) -> Event {
        let mut event = Event::inspected(&self.server, &self.session_id, inspection, bytes);
        event.verdict = ruling.verdict.as_str();
        if let Verdict::Deny { reason } = &ruling.verdict {
            event.reason = Some(reason.clone());
        }
        event.decided_by = ruling.decided_by.as_ref().map(DecidedBy::label);
        event.category = ruling.category.map(|c| c.as_str().to_owned());
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
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .abandon(inspection.direction, id);
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
        let verdict = if answer.is_some() { "reject" } else { "drop" };
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

//! Stage 2, *inspect*: what one connection has said so far, and what each new message means.
//!
//! A [`Session`] is shared by both directions of one connection. It identifies the protocol era,
//! remembers who the peers are, and correlates every request with its response by id, in both
//! directions, so that later stages know which call a result answers and how long it took.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::{Implementation, ProtocolVersion};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::classify::ToolInfo;
use crate::jsonrpc::{Id, Message};
use crate::names::named_enum;

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the MCP client (the agent) to the server.
    ClientToServer,
    /// From the server to the client.
    ServerToClient,
}

impl Direction {
    pub fn reverse(self) -> Self {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ClientToServer => "client_to_server",
            Direction::ServerToClient => "server_to_client",
        }
    }
}

/// The protocol era of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Era {
    /// Nothing has told us yet.
    Unknown,
    /// 2024-11-05 … 2025-11-25: an `initialize` handshake opens a session.
    Handshake { version: String },
    /// 2026-07-28 and later: no handshake; every request names its version in `_meta`.
    Stateless { version: String },
}

impl Era {
    fn from_version(version: &str) -> Self {
        let parsed: ProtocolVersion = serde_json::from_value(version.into())
            .unwrap_or(ProtocolVersion::LATEST_WITH_INITIALIZE);
        if parsed.has_initialize() {
            Era::Handshake { version: version.to_owned() }
        } else {
            Era::Stateless { version: version.to_owned() }
        }
    }

    pub fn version(&self) -> Option<&str> {
        match self {
            Era::Unknown => None,
            Era::Handshake { version } | Era::Stateless { version } => Some(version),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Era::Unknown => "unknown",
            Era::Handshake { .. } => "handshake",
            Era::Stateless { .. } => "stateless",
        }
    }
}

/// What the inspect stage learned about one message.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub direction: Direction,
    pub kind: Kind,
    /// The method of a request or notification; for a response, the method of its request.
    pub method: Option<String>,
    pub id: Option<Id>,
    /// The tool a `tools/call` names (for its response too).
    pub tool: Option<String>,
    /// For a response: how long after its request it came.
    pub latency: Option<Duration>,
    /// For `notifications/cancelled`: the request it withdraws.
    pub cancels: Option<Id>,
    /// The era of the connection after this message.
    pub era: Era,
    /// For a response: `ok`, `tool_error` (a `tools/call` result with `isError: true`) or
    /// `error`.
    pub result_status: Option<ResultStatus>,
    /// For a `tools/call` request: its arguments, raw.
    pub arguments: Option<Box<RawValue>>,
    /// For a `tools/call` request: the progress token the client asked updates under.
    pub progress_token: Option<Id>,
    /// For a `tools/call` request: the tool as the server last described it in `tools/list`.
    pub tool_info: Option<Arc<ToolInfo>>,
    /// For a `tools/call` request: the server's whole tool list is known (a `tools/list` result
    /// without a next page was seen) and does not name this tool.
    pub unoffered: bool,
    /// For a `tools/call` request: the roots the client announced (`roots/list`), as paths.
    pub client_roots: Option<Arc<Vec<PathBuf>>>,
    /// For a `tools/list` result: the tools it described, as the server sent them.
    pub tools_listed: Option<Arc<Vec<(String, String)>>>,
    /// For a stateless-era `tools/call` request that retries a call the server answered with
    /// `input_required`: the `requestState` it echoes back.
    pub request_state: Option<String>,
    /// For a `tools/call` result of type `input_required`: the `requestState` the client must
    /// echo when it retries the call with the answers.
    pub input_required: Option<String>,
    /// For the client's answer to `roots/list`: the roots it announced, as paths.
    pub roots_announced: Option<Arc<Vec<PathBuf>>>,
}

/// The JSON-RPC kind of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Notification,
    Result,
    Error,
    /// A response whose id matches no request we relayed.
    UnmatchedResponse,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Notification => "notification",
            Kind::Result => "result",
            Kind::Error => "error",
            Kind::UnmatchedResponse => "unmatched_response",
        }
    }
}

/// A request waiting for its response.
#[derive(Debug)]
struct Pending {
    method: String,
    tool: Option<String>,
    started: Instant,
    seq: u64,
}

/// How many unanswered requests per direction are remembered; beyond it the oldest is forgotten
/// (its response is then recorded as unmatched), so a peer cannot grow memory without bound.
pub const MAX_PENDING: usize = 10_000;

/// The state of one connection between a client and a server.
#[derive(Debug)]
pub struct Session {
    era: Era,
    client: Option<Implementation>,
    server: Option<Implementation>,
    pending: HashMap<(Direction, Id), Pending>,
    /// Insertion order of `pending`, to forget the oldest in O(1); may hold answered entries.
    order: VecDeque<(u64, Direction, Id)>,
    seq: u64,
    /// The server's tools by name, from its latest `tools/list` results.
    tools: HashMap<String, Arc<ToolInfo>>,
    /// Every tool name the server listed (also those whose definition did not read as a tool).
    tool_names: HashSet<String>,
    /// Whether the last `tools/list` result had no next page: the list is whole.
    tools_complete: bool,
    /// The client's roots from its latest `roots/list` answer.
    client_roots: Arc<Vec<PathBuf>>,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

/// The parts of `params` the inspect stage reads for any request.
#[derive(Deserialize)]
struct ParamsMeta<'a> {
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<MetaView<'a>>,
}

#[derive(Deserialize)]
struct MetaView<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    protocol_version: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitializeParamsView {
    #[serde(default)]
    protocol_version: Option<String>,
    #[serde(default)]
    client_info: Option<Implementation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitializeResultView {
    #[serde(default)]
    protocol_version: Option<String>,
    #[serde(default)]
    server_info: Option<Implementation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiscoverResultView {
    #[serde(default)]
    supported_versions: Vec<String>,
    #[serde(rename = "_meta", default)]
    meta: Option<DiscoverMeta>,
}

#[derive(Deserialize)]
struct DiscoverMeta {
    #[serde(rename = "io.modelcontextprotocol/serverInfo", default)]
    server_info: Option<Implementation>,
}

impl Session {
    pub fn new() -> Self {
        Self {
            era: Era::Unknown,
            client: None,
            server: None,
            pending: HashMap::new(),
            order: VecDeque::new(),
            seq: 0,
            tools: HashMap::new(),
            tool_names: HashSet::new(),
            tools_complete: false,
            client_roots: Arc::new(Vec::new()),
        }
    }

    pub fn era(&self) -> &Era {
        &self.era
    }

    /// The client's self-description from `initialize`, if it sent one.
    pub fn client_info(&self) -> Option<&Implementation> {
        self.client.as_ref()
    }

    /// The server's self-description from its `initialize` result, if any.
    pub fn server_info(&self) -> Option<&Implementation> {
        self.server.as_ref()
    }

    /// Requests relayed in either direction that have not been answered yet.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Updates the session with one message and describes it.
    pub fn inspect(&mut self, direction: Direction, message: &Message<'_>) -> Inspection {
        let mut out = Inspection {
            direction,
            kind: Kind::Notification,
            method: message.method().map(str::to_owned),
            id: message.id().cloned(),
            tool: None,
            latency: None,
            cancels: None,
            era: Era::Unknown,
            result_status: None,
            arguments: None,
            progress_token: None,
            tool_info: None,
            unoffered: false,
            client_roots: None,
            tools_listed: None,
            request_state: None,
            input_required: None,
            roots_announced: None,
        };
        match message {
            Message::Request { id, method, params } => {
                out.kind = Kind::Request;
                self.learn_from_request(direction, method, *params);
                let call = (method == "tools/call")
                    .then(|| {
                        params.and_then(|p| serde_json::from_str::<ToolCallView>(p.get()).ok())
                    })
                    .flatten();
                if let Some(call) = call {
                    out.tool_info = self.tools.get(call.name.as_ref()).cloned();
                    out.unoffered =
                        self.tools_complete && !self.tool_names.contains(call.name.as_ref());
                    out.client_roots = Some(self.client_roots.clone());
                    out.tool = Some(call.name.into_owned());
                    out.arguments = call.arguments.map(RawValue::to_owned);
                    out.progress_token = call
                        .meta
                        .and_then(|m| m.progress_token)
                        .and_then(|t| Id::from_raw(t.get()));
                    out.request_state = call.request_state.map(Cow::into_owned);
                }
                if method == "resources/read" && direction == Direction::ClientToServer {
                    // A resource read names what it reads in `params.uri`: the decide stage
                    // checks `file:` URIs like a tool's path argument.
                    out.arguments = params.map(RawValue::to_owned);
                    out.client_roots = Some(self.client_roots.clone());
                }
                self.remember(direction, id.clone(), method, out.tool.clone());
            }
            Message::Notification { method, params } => {
                if method == "notifications/cancelled" {
                    out.cancels = params.and_then(|p| cancelled_request(p.get()));
                }
            }
            Message::Response { id, result, error } => {
                out.kind = if error.is_some() { Kind::Error } else { Kind::Result };
                out.result_status =
                    Some(if error.is_some() { ResultStatus::Error } else { ResultStatus::Ok });
                let answered = id
                    .as_ref()
                    .and_then(|id| self.pending.remove(&(direction.reverse(), id.clone())));
                match answered {
                    Some(request) => {
                        out.latency = Some(request.started.elapsed());
                        if direction == Direction::ServerToClient {
                            self.learn_from_response(&request.method, *result);
                            if request.method == "tools/list" {
                                out.tools_listed = result.and_then(|r| self.learn_tools(r));
                            }
                        } else if request.method == "roots/list"
                            && let Some(roots) = result.and_then(|r| roots_from_result(r.get()))
                        {
                            self.client_roots = Arc::new(roots);
                            out.roots_announced = Some(self.client_roots.clone());
                        }
                        if request.method == "tools/call" {
                            if tool_result_is_error(*result) {
                                out.result_status = Some(ResultStatus::ToolError);
                            }
                            out.input_required = input_required_state(*result);
                        }
                        out.method = Some(request.method);
                        out.tool = request.tool;
                    }
                    None => out.kind = Kind::UnmatchedResponse,
                }
            }
        }
        out.era = self.era.clone();
        out
    }

    /// The roots the client announced, as filesystem paths.
    pub fn client_roots(&self) -> &[PathBuf] {
        &self.client_roots
    }

    /// Remembers the tools of a `tools/list` result; returns each tool's name and definition.
    fn learn_tools(&mut self, result: &RawValue) -> Option<Arc<Vec<(String, String)>>> {
        #[derive(Deserialize)]
        struct ToolsView<'a> {
            #[serde(borrow)]
            tools: Vec<&'a RawValue>,
            #[serde(default, rename = "nextCursor")]
            next_cursor: Option<&'a RawValue>,
        }
        #[derive(Deserialize)]
        struct NameView<'a> {
            #[serde(borrow)]
            name: Cow<'a, str>,
        }
        let view = serde_json::from_str::<ToolsView>(result.get()).ok()?;
        self.tools_complete = view.next_cursor.is_none_or(|c| c.get() == "null");
        let mut listed = Vec::with_capacity(view.tools.len());
        for raw in view.tools {
            if let Ok(named) = serde_json::from_str::<NameView>(raw.get()) {
                self.tool_names.insert(named.name.into_owned());
            }
            if let Ok(info) = serde_json::from_str::<ToolInfo>(raw.get()) {
                listed.push((info.name.clone(), raw.get().to_owned()));
                self.tools.insert(info.name.clone(), Arc::new(info));
            }
        }
        Some(Arc::new(listed))
    }

    /// Forgets a pending request that will never be answered (its response was unreadable).
    /// Returns whether it was pending.
    pub fn abandon(&mut self, request_direction: Direction, id: &Id) -> bool {
        self.pending.remove(&(request_direction, id.clone())).is_some()
    }

    fn learn_from_request(
        &mut self,
        direction: Direction,
        method: &str,
        params: Option<&RawValue>,
    ) {
        if direction != Direction::ClientToServer {
            return;
        }
        if method == "initialize" {
            if let Some(view) =
                params.and_then(|p| serde_json::from_str::<InitializeParamsView>(p.get()).ok())
            {
                self.client = view.client_info;
                if let Some(version) = view.protocol_version {
                    self.era = Era::Handshake { version };
                }
            }
            return;
        }
        // Stateless requests carry their protocol version; the first one fixes the era.
        if matches!(self.era, Era::Unknown) {
            let version = params
                .and_then(|p| serde_json::from_str::<ParamsMeta>(p.get()).ok())
                .and_then(|p| p.meta)
                .and_then(|m| m.protocol_version);
            if let Some(version) = version {
                self.era = Era::from_version(&version);
            }
        }
    }

    fn learn_from_response(&mut self, method: &str, result: Option<&RawValue>) {
        if method == "initialize" {
            if let Some(view) =
                result.and_then(|r| serde_json::from_str::<InitializeResultView>(r.get()).ok())
            {
                self.server = view.server_info;
                if let Some(version) = view.protocol_version {
                    self.era = Era::from_version(&version);
                }
            }
        } else if method == "server/discover" {
            let Some(view) =
                result.and_then(|r| serde_json::from_str::<DiscoverResultView>(r.get()).ok())
            else {
                return; // an error answer: the client falls back to `initialize`
            };
            if let Some(info) = view.meta.and_then(|m| m.server_info) {
                self.server = Some(info);
            }
            if self.era == Era::Unknown {
                // A DiscoverResult proves a stateless-era server even before a request names a
                // version; take the newest stateless version it supports.
                let version = view
                    .supported_versions
                    .iter()
                    .filter(|v| matches!(Era::from_version(v), Era::Stateless { .. }))
                    .max()
                    .cloned()
                    .unwrap_or_else(|| ProtocolVersion::LATEST.to_string());
                self.era = Era::Stateless { version };
            }
        }
    }

    fn remember(&mut self, direction: Direction, id: Id, method: &str, tool: Option<String>) {
        while self.pending.len() >= MAX_PENDING {
            let Some((seq, dir, id)) = self.order.pop_front() else {
                break;
            };
            let key = (dir, id);
            if self.pending.get(&key).is_some_and(|p| p.seq == seq) {
                tracing::warn!(id = %key.1, "too many unanswered requests; forgetting the oldest");
                self.pending.remove(&key);
            }
        }
        if self.order.len() > 2 * MAX_PENDING {
            let pending = &self.pending;
            self.order.retain(|(seq, dir, id)| {
                pending.get(&(*dir, id.clone())).is_some_and(|p| p.seq == *seq)
            });
        }
        self.seq += 1;
        let pending =
            Pending { method: method.to_owned(), tool, started: Instant::now(), seq: self.seq };
        self.order.push_back((self.seq, direction, id.clone()));
        match self.pending.entry((direction, id)) {
            Entry::Occupied(mut slot) => {
                // Ids must not be reused while pending; keep the newest so its answer matches.
                tracing::warn!(id = %slot.key().1, "request id reused while still pending");
                slot.insert(pending);
            }
            Entry::Vacant(slot) => {
                slot.insert(pending);
            }
        }
    }
}

/// The parts of `tools/call` params the pipeline reads; arguments stay raw.
#[derive(Deserialize)]
struct ToolCallView<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<ProgressMeta<'a>>,
    #[serde(rename = "requestState", borrow, default)]
    request_state: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ProgressMeta<'a> {
    #[serde(rename = "progressToken", borrow, default)]
    progress_token: Option<&'a RawValue>,
}

/// Whether a tool result says `isError: true`. Results can be megabytes, so the common shapes
/// are answered without a second parse: no `"isError"` at all, or `isError` as the first or last
/// member of the result object (a nested object cannot end or start the result this way).
fn tool_result_is_error(result: Option<&RawValue>) -> bool {
    let Some(raw) = result else { return false };
    let text = raw.get().trim();
    if memchr::memmem::find(text.as_bytes(), b"\"isError\"").is_none() {
        return false;
    }
    let body = text.strip_suffix('}').unwrap_or(text).trim_end();
    for (value, answer) in [("true", true), ("false", false)] {
        if let Some(rest) = body.strip_suffix(value) {
            let rest = rest.trim_end();
            if let Some(rest) = rest.strip_suffix(':') {
                let rest = rest.trim_end();
                if rest.ends_with("\"isError\"")
                    && rest[..rest.len() - 9].trim_end().ends_with([',', '{'])
                {
                    return answer;
                }
            }
        }
    }
    #[derive(Deserialize)]
    struct View {
        #[serde(rename = "isError", default)]
        is_error: Option<bool>,
    }
    result
        .and_then(|r| serde_json::from_str::<View>(r.get()).ok())
        .and_then(|v| v.is_error)
        .unwrap_or(false)
}

/// The `requestState` of an `input_required` result (2026-07-28 multi-round-trip requests).
/// Most results are not, and are answered by one substring search.
fn input_required_state(result: Option<&RawValue>) -> Option<String> {
    let raw = result?;
    memchr::memmem::find(raw.get().as_bytes(), b"\"input_required\"")?;
    #[derive(Deserialize)]
    struct View {
        #[serde(rename = "resultType", default)]
        result_type: Option<String>,
        #[serde(rename = "requestState", default)]
        request_state: Option<String>,
    }
    let view = serde_json::from_str::<View>(raw.get()).ok()?;
    (view.result_type.as_deref() == Some("input_required")).then_some(view.request_state).flatten()
}

/// The `file://` roots of a `roots/list` result, as paths.
fn roots_from_result(result: &str) -> Option<Vec<PathBuf>> {
    #[derive(Deserialize)]
    struct Root {
        uri: String,
    }
    #[derive(Deserialize)]
    struct Roots {
        roots: Vec<Root>,
    }
    let roots = serde_json::from_str::<Roots>(result).ok()?;
    Some(
        roots
            .roots
            .iter()
            .filter_map(|r| r.uri.strip_prefix("file://"))
            .map(|p| {
                PathBuf::from(percent_encoding::percent_decode_str(p).decode_utf8_lossy().as_ref())
            })
            .collect(),
    )
}

fn cancelled_request(params: &str) -> Option<Id> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Cancelled<'a> {
        #[serde(borrow)]
        request_id: &'a RawValue,
    }
    serde_json::from_str::<Cancelled>(params).ok().and_then(|c| Id::from_raw(c.request_id.get()))
}

named_enum! {
    /// How a response ended.
    pub enum ResultStatus as "result status" {
        Ok = "ok",
        /// A tool result with `isError: true`.
        ToolError = "tool_error",
        /// A JSON-RPC error.
        Error = "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::{Decoded, decode};

    fn feed(session: &mut Session, direction: Direction, line: &str) -> Inspection {
        match decode(line.as_bytes()).unwrap() {
            Decoded::Single(m) => session.inspect(direction, &m),
            Decoded::Batch(_) => unreachable!(),
        }
    }

    use Direction::{ClientToServer as C2S, ServerToClient as S2C};

    #[test]
    fn handshake_era_from_initialize_and_negotiated_version() {
        let mut s = Session::new();
        let i = feed(
            &mut s,
            C2S,
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"agent","version":"1"}}}"#,
        );
        assert_eq!(i.era, Era::Handshake { version: "2025-11-25".into() });
        let r = feed(
            &mut s,
            S2C,
            r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"fs","version":"2"}}}"#,
        );
        assert_eq!(r.method.as_deref(), Some("initialize"));
        assert_eq!(r.era, Era::Handshake { version: "2025-06-18".into() });
        assert_eq!(s.client_info().unwrap().name, "agent");
        assert_eq!(s.server_info().unwrap().name, "fs");
    }

    #[test]
    fn a_call_of_a_tool_missing_from_the_whole_list_is_unoffered_and_only_then() {
        let mut s = Session::new();
        let call = |s: &mut Session, id: u32, tool: &str| {
            feed(
                s,
                C2S,
                &format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}"}}}}"#
                ),
            )
        };
        assert!(!call(&mut s, 1, "ehco").unoffered, "no list seen yet: nothing is known");
        let list = |s: &mut Session, id: u32, result: &str| {
            feed(s, C2S, &format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#));
            feed(s, S2C, &format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#));
        };
        list(
            &mut s,
            2,
            r#"{"tools":[{"name":"echo","inputSchema":{"type":"object"}}],"nextCursor":"p2"}"#,
        );
        assert!(!call(&mut s, 3, "add").unoffered, "a next page may name it");
        list(
            &mut s,
            4,
            r#"{"tools":[{"name":"add","inputSchema":{"type":"object"}},{"name":"odd","inputSchema":3}]}"#,
        );
        assert!(!call(&mut s, 5, "echo").unoffered, "listed on the first page");
        assert!(!call(&mut s, 6, "add").unoffered);
        assert!(!call(&mut s, 7, "odd").unoffered, "listed, though its schema is odd");
        assert!(call(&mut s, 8, "ehco").unoffered);
    }

    #[test]
    fn stateless_era_from_request_meta() {
        let mut s = Session::new();
        let i = feed(
            &mut s,
            C2S,
            r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        );
        assert_eq!(i.era, Era::Stateless { version: "2026-07-28".into() });
    }

    #[test]
    fn discover_result_names_the_server_and_its_era() {
        let mut s = Session::new();
        feed(&mut s, C2S, r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}"#);
        feed(
            &mut s,
            S2C,
            r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","supportedVersions":["2025-11-25","2026-07-28"],"capabilities":{},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"modern-echo","version":""}}}}"#,
        );
        assert_eq!(s.era(), &Era::Stateless { version: "2026-07-28".into() });
        assert_eq!(s.server_info().unwrap().name, "modern-echo");
    }

    #[test]
    fn failed_discover_then_initialize_is_handshake() {
        let mut s = Session::new();
        feed(&mut s, C2S, r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}"#);
        let e =
            feed(&mut s, S2C, r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"#);
        assert_eq!((e.kind, e.era.clone()), (Kind::Error, Era::Unknown));
        feed(
            &mut s,
            C2S,
            r#"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"a","version":"1"}}}"#,
        );
        assert_eq!(s.era().name(), "handshake");
    }

    #[test]
    fn correlates_both_directions_by_exact_id() {
        let mut s = Session::new();
        let call = feed(
            &mut s,
            C2S,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/x"}}}"#,
        );
        assert_eq!(call.tool.as_deref(), Some("read_file"));
        // The server asks the client something with the same id number: a different request.
        feed(&mut s, S2C, r#"{"jsonrpc":"2.0","id":7,"method":"roots/list"}"#);
        let str_id = feed(&mut s, S2C, r#"{"jsonrpc":"2.0","id":"7","result":{}}"#);
        assert_eq!(str_id.kind, Kind::UnmatchedResponse, "\"7\" is not 7");
        let roots = feed(&mut s, C2S, r#"{"jsonrpc":"2.0","id":7,"result":{"roots":[]}}"#);
        assert_eq!(roots.method.as_deref(), Some("roots/list"));
        let result = feed(&mut s, S2C, r#"{"jsonrpc":"2.0","id":7,"result":{"content":[]}}"#);
        assert_eq!(
            (result.method.as_deref(), result.tool.as_deref()),
            (Some("tools/call"), Some("read_file"))
        );
        assert!(result.latency.is_some());
        assert_eq!(s.pending_len(), 0);
    }

    #[test]
    fn cancellation_names_the_request() {
        let mut s = Session::new();
        let c = feed(
            &mut s,
            C2S,
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"abc","reason":"user"}}"#,
        );
        assert_eq!(c.cancels.unwrap().as_raw(), "\"abc\"");
    }

    #[test]
    fn pending_table_is_bounded() {
        let mut s = Session::new();
        for i in 0..MAX_PENDING + 50 {
            feed(&mut s, C2S, &format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"ping"}}"#));
        }
        assert_eq!(s.pending_len(), MAX_PENDING);
        let first = feed(&mut s, S2C, r#"{"jsonrpc":"2.0","id":0,"result":{}}"#);
        assert_eq!(first.kind, Kind::UnmatchedResponse);
        let last = feed(
            &mut s,
            S2C,
            &format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{}}}}"#, MAX_PENDING + 49),
        );
        assert_eq!(last.kind, Kind::Result);
    }
}

//! Recorded events as OpenTelemetry spans and log records, following the semantic conventions
//! for MCP (`{mcp.method.name} {target}` spans) and for GenAI security (`apply_guardrail` spans
//! with `gen_ai.security.finding` events). Pure: events in, `SpanData` and log fields out; the
//! exporter thread (`super::Exporter`) sends them.
//!
//! A request's span starts at its request event and ends at its response (or at once when the
//! firewall refused it); a call held for a person ends its guardrail span at the person's
//! answer. Requests waiting for their response are kept in a bounded table: the oldest is ended
//! (marked unfinished) when it is full.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::record::{DecidedBy, Event, EventKind, ResultStatus, Verdict};
use crate::session::Direction;
use mcpfw_core::detect::Severity;
use mcpfw_core::finding::Finding;

/// How requests reach the firewall, as `network.transport` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `mcpfw wrap` (stdio, and the bridge's client side).
    Pipe,
    /// The HTTP proxy.
    Tcp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Pipe => "pipe",
            Transport::Tcp => "tcp",
        }
    }
}

/// The guardian's name in `gen_ai.guardian.name` and in guardrail span names.
pub const GUARDIAN: &str = "mcpfw";
/// The JSON-RPC error code a refused request (other than a tool call) is answered with.
pub const DENIED_CODE: &str = "-32001";

/// `error.type` of a refused request's span: what its client was told. A tool call is
/// answered with a tool result with `isError: true` (`tool_error`, as the MCP conventions name
/// it), any other request with the JSON-RPC error -32001.
fn refused(event: &Event) -> &'static str {
    if event.method.as_deref() == Some("tools/call") { "tool_error" } else { DENIED_CODE }
}
/// Requests kept waiting for their response at most.
const MAX_OPEN: usize = 4096;

/// One exported log record's content (built into an SDK record by the exporter thread).
pub struct LogFields {
    pub time: SystemTime,
    pub warn: bool,
    pub body: String,
    pub attributes: Vec<KeyValue>,
    /// The span of the request the event belongs to, when known.
    pub trace: Option<(TraceId, SpanId)>,
}

/// A request waiting for its response (or for a person).
struct Open {
    trace: TraceId,
    span: SpanId,
    start: SystemTime,
    name: String,
    kind: SpanKind,
    attributes: Vec<KeyValue>,
    /// The call's own attributes kept for a guardrail span decided later (held calls).
    held: Option<Event>,
}

type Key = (String, Direction, String);

/// Turns events into spans, remembering the requests whose response has not come yet.
pub struct Converter {
    transport: Transport,
    include_content: bool,
    scope: InstrumentationScope,
    open: HashMap<Key, Open>,
    order: VecDeque<Key>,
}

impl Converter {
    pub fn new(transport: Transport, include_content: bool) -> Self {
        let scope =
            InstrumentationScope::builder("mcpfw").with_version(env!("CARGO_PKG_VERSION")).build();
        Self { transport, include_content, scope, open: HashMap::new(), order: VecDeque::new() }
    }

    pub fn scope(&self) -> &InstrumentationScope {
        &self.scope
    }

    /// The spans this event ends (pushed to `spans`) and its log record.
    pub fn event(&mut self, event: &Event, spans: &mut Vec<SpanData>) -> LogFields {
        let trace = match (event.kind, event.id.as_ref()) {
            (EventKind::Request, Some(id)) => self.request(event, id, spans),
            (EventKind::Approval, Some(id)) => self.approval(event, id, spans),
            (EventKind::Result | EventKind::Error, Some(id)) => self.response(event, id, spans),
            (EventKind::Detection, _) => {
                // A finding after the fact (the background scan of a result): a guardrail
                // span of its own.
                let trace = new_trace_id();
                let target = target_type(event.method.as_deref(), true);
                let decision = response_decision(event);
                let guard = self.guardrail(event, trace, SpanId::INVALID, decision, target);
                let span = guard.span_context.span_id();
                spans.push(guard);
                Some((trace, span))
            }
            _ => None,
        };
        self.log(event, trace)
    }

    /// Ends every request still open (the session is over): marked `mcpfw.unfinished`.
    pub fn finish(&mut self, spans: &mut Vec<SpanData>) {
        let now = SystemTime::now();
        for key in std::mem::take(&mut self.order) {
            if let Some(open) = self.open.remove(&key) {
                spans.push(self.close(open, now, None, Some("unfinished")));
            }
        }
    }

    fn request(
        &mut self,
        event: &Event,
        id: &str,
        spans: &mut Vec<SpanData>,
    ) -> Option<(TraceId, SpanId)> {
        let (trace, span) = (new_trace_id(), new_span_id());
        let open = Open {
            trace,
            span,
            start: time(event.ts_ms),
            name: span_name(event),
            kind: match event.direction {
                Direction::ClientToServer => SpanKind::Server,
                Direction::ServerToClient => SpanKind::Client,
            },
            attributes: self.request_attributes(event, id),
            held: None,
        };
        let is_call = event.method.as_deref() == Some("tools/call");
        match event.verdict {
            Verdict::Allow => {
                if is_call {
                    let decision = if event.findings.is_empty() { "allow" } else { "warn" };
                    let target = target_type(event.method.as_deref(), false);
                    spans.push(self.guardrail(event, trace, span, decision, target));
                }
                self.insert(event, id, open, spans);
            }
            Verdict::Ask => {
                let open = Open { held: Some(event.clone()), ..open };
                self.insert(event, id, open, spans);
            }
            Verdict::Deny | Verdict::Reject | Verdict::Drop => {
                let target = target_type(event.method.as_deref(), false);
                spans.push(self.guardrail(event, trace, span, "deny", target));
                let end = time(event.ts_ms);
                spans.push(self.close(open, end, Some(refused(event)), event.reason.as_deref()));
            }
        }
        Some((trace, span))
    }

    fn approval(
        &mut self,
        event: &Event,
        id: &str,
        spans: &mut Vec<SpanData>,
    ) -> Option<(TraceId, SpanId)> {
        let key = (event.session.clone(), event.direction, id.to_owned());
        let mut open = self.open.remove(&key)?;
        let (trace, span) = (open.trace, open.span);
        let allow = event.verdict == Verdict::Allow;
        // The guardrail span covers the wait for the person.
        let held = open.held.take();
        let mut guard = self.guardrail(
            event,
            trace,
            span,
            if allow { "allow" } else { "deny" },
            target_type(event.method.as_deref(), false),
        );
        guard.start_time = held.map_or(open.start, |h| time(h.ts_ms));
        spans.push(guard);
        if allow {
            open.attributes.push(KeyValue::new("mcpfw.verdict", "allow"));
            if let Some(by) = &event.decided_by {
                open.attributes.push(KeyValue::new("mcpfw.decided_by", by.label()));
            }
            self.open.insert(key, open);
        } else {
            let end = time(event.ts_ms);
            self.order.retain(|k| k != &key);
            spans.push(self.close(open, end, Some(refused(event)), event.reason.as_deref()));
        }
        Some((trace, span))
    }

    fn response(
        &mut self,
        event: &Event,
        id: &str,
        spans: &mut Vec<SpanData>,
    ) -> Option<(TraceId, SpanId)> {
        let key = (event.session.clone(), event.direction.reverse(), id.to_owned());
        let end = time(event.ts_ms);
        let open = match self.open.remove(&key) {
            Some(open) => {
                self.order.retain(|k| k != &key);
                open
            }
            // Its request was not seen (evicted, or before this exporter): the latency gives
            // its start.
            None => {
                let start = end - Duration::from_micros(event.latency_us?);
                Open {
                    trace: new_trace_id(),
                    span: new_span_id(),
                    start,
                    name: span_name(event),
                    kind: match event.direction {
                        Direction::ServerToClient => SpanKind::Server,
                        Direction::ClientToServer => SpanKind::Client,
                    },
                    attributes: self.request_attributes(event, id),
                    held: None,
                }
            }
        };
        let (trace, span) = (open.trace, open.span);
        let method = event.method.as_deref();
        let screened = method == Some("tools/list")
            || event.verdict != Verdict::Allow
            || !event.findings.is_empty();
        if screened {
            let decision = response_decision(event);
            let target = target_type(method, true);
            spans.push(self.guardrail(event, trace, span, decision, target));
        }
        let error = match (event.kind, event.result_status) {
            _ if matches!(event.verdict, Verdict::Deny | Verdict::Drop | Verdict::Reject) => {
                Some(refused(event))
            }
            (EventKind::Error, _) | (_, Some(ResultStatus::Error)) => Some("jsonrpc_error"),
            (_, Some(ResultStatus::ToolError)) => Some("tool_error"),
            _ => None,
        };
        spans.push(self.close(open, end, error, event.reason.as_deref()));
        Some((trace, span))
    }

    fn insert(&mut self, event: &Event, id: &str, open: Open, spans: &mut Vec<SpanData>) {
        if self.open.len() >= MAX_OPEN
            && let Some(oldest) = self.order.pop_front()
            && let Some(old) = self.open.remove(&oldest)
        {
            spans.push(self.close(old, SystemTime::now(), None, Some("unfinished")));
        }
        let key = (event.session.clone(), event.direction, id.to_owned());
        if self.open.insert(key.clone(), open).is_none() {
            self.order.push_back(key);
        }
    }

    /// The MCP span of a request, ended at `end`.
    fn close(
        &self,
        open: Open,
        end: SystemTime,
        error: Option<&str>,
        why: Option<&str>,
    ) -> SpanData {
        let mut attributes = open.attributes;
        let status = match error {
            Some(error) => {
                attributes.push(KeyValue::new("error.type", error.to_owned()));
                Status::error(why.unwrap_or(error).to_owned())
            }
            None if why == Some("unfinished") => {
                attributes.push(KeyValue::new("mcpfw.unfinished", true));
                Status::Unset
            }
            None => Status::Unset,
        };
        self.span(
            open.trace,
            open.span,
            SpanId::INVALID,
            open.kind,
            open.name,
            (open.start, end.max(open.start)),
            attributes,
            Vec::new(),
            status,
        )
    }

    /// The attributes of a request's span (MCP semantic conventions, plus MCP Firewall's).
    fn request_attributes(&self, event: &Event, id: &str) -> Vec<KeyValue> {
        let mut a = Vec::with_capacity(16);
        if let Some(method) = &event.method {
            a.push(KeyValue::new("mcp.method.name", method.clone()));
        }
        a.push(KeyValue::new("jsonrpc.request.id", request_id(id)));
        a.push(KeyValue::new("mcp.session.id", event.session.clone()));
        if let Some(version) = &event.protocol_version {
            a.push(KeyValue::new("mcp.protocol.version", version.clone()));
        }
        a.push(KeyValue::new("network.transport", self.transport.as_str()));
        if event.method.as_deref() == Some("tools/call") {
            a.push(KeyValue::new("gen_ai.operation.name", "execute_tool"));
            if let Some(tool) = &event.tool {
                a.push(KeyValue::new("gen_ai.tool.name", tool.clone()));
            }
            if self.include_content
                && let Some(args) = &event.args_redacted
            {
                a.push(KeyValue::new("gen_ai.tool.call.arguments", args.clone()));
            }
        }
        a.push(KeyValue::new("mcpfw.server", event.server.clone()));
        a.push(KeyValue::new("mcpfw.verdict", event.verdict.as_str()));
        if let Some(by) = &event.decided_by {
            a.push(KeyValue::new("mcpfw.decided_by", by.label()));
        }
        if let Some(category) = event.category {
            a.push(KeyValue::new("mcpfw.category", category.as_str()));
        }
        a
    }

    /// An `apply_guardrail` span, child of the request's span `parent`.
    fn guardrail(
        &self,
        event: &Event,
        trace: TraceId,
        parent: SpanId,
        decision: &'static str,
        target: &'static str,
    ) -> SpanData {
        let mut a = vec![
            KeyValue::new("gen_ai.operation.name", "apply_guardrail"),
            KeyValue::new("gen_ai.security.decision.type", decision),
            KeyValue::new("gen_ai.security.target.type", target),
            KeyValue::new("gen_ai.guardian.name", GUARDIAN),
            KeyValue::new("gen_ai.guardian.provider.name", "mcp-firewall"),
            KeyValue::new("gen_ai.guardian.version", env!("CARGO_PKG_VERSION")),
        ];
        if let Some(id) = &event.id {
            a.push(KeyValue::new("gen_ai.security.target.id", request_id(id)));
        }
        if let Some(by) = &event.decided_by {
            a.push(KeyValue::new("gen_ai.security.policy.id", by.label()));
            if let DecidedBy::Rule(rule) = by {
                a.push(KeyValue::new("gen_ai.security.policy.name", rule.clone()));
            }
        }
        if decision != "allow"
            && let Some(reason) = &event.reason
        {
            a.push(KeyValue::new("gen_ai.security.decision.reason", reason.clone()));
        }
        if decision == "deny" {
            a.push(KeyValue::new("gen_ai.security.decision.code", -32001_i64));
        }
        if decision == "modify" {
            a.push(KeyValue::new("gen_ai.security.content.redacted", true));
        }
        if let Some(digest) = &event.args_digest {
            a.push(KeyValue::new("gen_ai.security.content.input.hash", format!("sha256:{digest}")));
        }
        if self.include_content
            && let Some(args) = &event.args_redacted
        {
            a.push(KeyValue::new("gen_ai.security.content.input.value", args.clone()));
        }
        if let Some(tool) = &event.tool {
            a.push(KeyValue::new("gen_ai.tool.name", tool.clone()));
        }
        let at = time(event.ts_ms);
        let events = event.findings.iter().map(|f| finding_event(f, at)).collect::<Vec<_>>();
        self.span(
            trace,
            new_span_id(),
            parent,
            SpanKind::Internal,
            format!("apply_guardrail {GUARDIAN}"),
            (at, at),
            a,
            events,
            Status::Unset,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn span(
        &self,
        trace: TraceId,
        span: SpanId,
        parent: SpanId,
        kind: SpanKind,
        name: String,
        (start, end): (SystemTime, SystemTime),
        attributes: Vec<KeyValue>,
        events: Vec<opentelemetry::trace::Event>,
        status: Status,
    ) -> SpanData {
        let mut span_events = SpanEvents::default();
        span_events.events = events;
        SpanData {
            span_context: SpanContext::new(
                trace,
                span,
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: parent,
            parent_span_is_remote: false,
            span_kind: kind,
            name: Cow::Owned(name),
            start_time: start,
            end_time: end,
            attributes,
            dropped_attributes_count: 0,
            events: span_events,
            links: SpanLinks::default(),
            status,
            instrumentation_scope: self.scope.clone(),
        }
    }

    /// The log record of one event: every field the history keeps (arguments only when content
    /// is included), with the request's span when known.
    fn log(&self, e: &Event, trace: Option<(TraceId, SpanId)>) -> LogFields {
        let mut a = Vec::with_capacity(20);
        a.push(KeyValue::new("mcpfw.server", e.server.clone()));
        a.push(KeyValue::new("mcp.session.id", e.session.clone()));
        a.push(KeyValue::new("mcpfw.direction", e.direction.as_str()));
        a.push(KeyValue::new("mcpfw.kind", e.kind.as_str()));
        if let Some(method) = &e.method {
            a.push(KeyValue::new("mcp.method.name", method.clone()));
        }
        if let Some(id) = &e.id {
            a.push(KeyValue::new("jsonrpc.request.id", request_id(id)));
        }
        if let Some(tool) = &e.tool {
            a.push(KeyValue::new("gen_ai.tool.name", tool.clone()));
        }
        if let Some(category) = e.category {
            a.push(KeyValue::new("mcpfw.category", category.as_str()));
        }
        if let Some(version) = &e.protocol_version {
            a.push(KeyValue::new("mcp.protocol.version", version.clone()));
        }
        a.push(KeyValue::new("network.transport", self.transport.as_str()));
        a.push(KeyValue::new("mcpfw.verdict", e.verdict.as_str()));
        if let Some(by) = &e.decided_by {
            a.push(KeyValue::new("mcpfw.decided_by", by.label()));
        }
        if let Some(reason) = &e.reason {
            a.push(KeyValue::new("mcpfw.reason", reason.clone()));
        }
        if let Some(latency) = e.latency_us {
            a.push(KeyValue::new("mcpfw.latency_us", i64::try_from(latency).unwrap_or(i64::MAX)));
        }
        if let Some(status) = e.result_status {
            a.push(KeyValue::new("mcpfw.result_status", status.as_str()));
        }
        if let Some(cancels) = &e.cancels {
            a.push(KeyValue::new("mcpfw.cancels", cancels.clone()));
        }
        if let Some(digest) = &e.args_digest {
            a.push(KeyValue::new("mcpfw.args_digest", digest.clone()));
        }
        if self.include_content
            && let Some(args) = &e.args_redacted
        {
            a.push(KeyValue::new("gen_ai.tool.call.arguments", args.clone()));
        }
        if !e.findings.is_empty() {
            let mut found = e.findings.clone();
            // A finding's evidence is a piece of what the server sent: content.
            if !self.include_content {
                for finding in &mut found {
                    finding.evidence = None;
                }
            }
            let text = mcpfw_core::finding::to_text(&found);
            a.push(KeyValue::new("mcpfw.findings", text));
        }
        a.push(KeyValue::new("mcpfw.bytes", i64::try_from(e.bytes).unwrap_or(i64::MAX)));
        let what = [e.method.as_deref(), e.tool.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let body = match &e.reason {
            Some(reason) => format!("{} {what} {}: {reason}", e.kind.as_str(), e.verdict.as_str()),
            None => format!("{} {what} {}", e.kind.as_str(), e.verdict.as_str()),
        };
        LogFields {
            time: time(e.ts_ms),
            warn: e.verdict != Verdict::Allow || e.kind == EventKind::Detection,
            body,
            attributes: a,
            trace,
        }
    }
}

/// `{mcp.method.name} {target}`: the tool for a call, else the method alone.
fn span_name(event: &Event) -> String {
    match (event.method.as_deref(), event.tool.as_deref()) {
        (Some(method), Some(tool)) => format!("{method} {tool}"),
        (Some(method), None) => method.to_owned(),
        (None, _) => "jsonrpc".to_owned(),
    }
}

/// What a guardrail looked at: a call (`tool_call`), a list of tools (`tool_definition`), a
/// result (`tool_result`), or another message.
fn target_type(method: Option<&str>, response: bool) -> &'static str {
    match (method, response) {
        (Some("tools/call"), false) => "tool_call",
        (Some("tools/call"), true) => "tool_result",
        (Some("tools/list"), true) => "tool_definition",
        _ => "message",
    }
}

/// The guardrail decision on a response: refused, rewritten, flagged, or let through.
///
/// Rewritten (`modify`): a tool list with tools withheld, and a tool result with findings in
/// the relay — that scan runs only on results that may hide text, and hidden text is removed
/// before the result is passed on. Findings of the background scan (`detection` events) and
/// flagged tool definitions came with content passed on unchanged (`warn`).
fn response_decision(event: &Event) -> &'static str {
    let found = &event.findings;
    let in_relay_result =
        event.kind != EventKind::Detection && event.method.as_deref() == Some("tools/call");
    if matches!(event.verdict, Verdict::Deny | Verdict::Drop | Verdict::Reject) {
        "deny"
    } else if event.reason.as_deref().is_some_and(|r| r.starts_with("withheld"))
        || (in_relay_result && !found.is_empty())
    {
        "modify"
    } else if !found.is_empty() {
        "warn"
    } else {
        "allow"
    }
}

/// A `gen_ai.security.finding` span event for one recorded finding (never its evidence).
fn finding_event(finding: &Finding, at: SystemTime) -> opentelemetry::trace::Event {
    let severity = match finding.severity {
        Some(Severity::Block) => "high",
        Some(Severity::Info) => "low",
        _ => "medium",
    };
    let mut a = vec![
        KeyValue::new("gen_ai.security.risk.category", finding.kind.name()),
        KeyValue::new("gen_ai.security.risk.severity", severity),
    ];
    if let Some(rule) = &finding.rule {
        a.push(KeyValue::new("gen_ai.security.policy.id", rule.clone()));
    }
    let metadata: Vec<opentelemetry::StringValue> =
        [("where", &finding.place), ("pointer", &finding.pointer), ("location", &finding.location)]
            .into_iter()
            .filter_map(|(key, v)| v.as_ref().map(|v| format!("{key}:{v}").into()))
            .collect();
    if !metadata.is_empty() {
        a.push(KeyValue::new(
            "gen_ai.security.risk.metadata",
            Value::Array(opentelemetry::Array::String(metadata)),
        ));
    }
    opentelemetry::trace::Event::new("gen_ai.security.finding", at, a, 0)
}

/// A request id as JSON-RPC carries it: a string's text without its quotes, a number as is.
fn request_id(raw: &str) -> String {
    serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_owned())
}

fn time(ts_ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ts_ms)
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        // Ids need to be unique, not secret: the clock and a counter do when the OS has no
        // randomness to give.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        for (i, b) in t.to_le_bytes().iter().chain(n.to_le_bytes().iter()).take(N).enumerate() {
            bytes[i] = *b;
        }
    }
    bytes
}

fn new_trace_id() -> TraceId {
    TraceId::from_bytes(random::<16>())
}

fn new_span_id() -> SpanId {
    SpanId::from_bytes(random::<8>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpfw_core::classify::Category;

    fn call(id: u64, verdict: Verdict) -> Event {
        let mut e = Event::refused(
            "files",
            "session-1",
            Direction::ClientToServer,
            verdict,
            Some(id.to_string()),
            String::new(),
            10,
        );
        e.kind = EventKind::Request;
        e.method = Some("tools/call".into());
        e.tool = Some("read_file".into());
        e.category = Some(Category::Read);
        e.reason = None;
        e.decided_by = Some(DecidedBy::Default);
        e
    }

    fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
        span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
    }

    #[test]
    fn waiting_requests_are_bounded_and_the_oldest_ends_unfinished() {
        let mut converter = Converter::new(Transport::Pipe, false);
        let mut spans = Vec::new();
        for id in 0..(MAX_OPEN as u64 + 10) {
            converter.event(&call(id, Verdict::Allow), &mut spans);
        }
        assert_eq!(converter.open.len(), MAX_OPEN);
        let unfinished: Vec<_> =
            spans.iter().filter(|s| attribute(s, "mcpfw.unfinished").is_some()).collect();
        assert_eq!(unfinished.len(), 10);
        assert_eq!(attribute(unfinished[0], "jsonrpc.request.id"), Some(&Value::from("0")));
        spans.clear();
        converter.finish(&mut spans);
        assert_eq!(spans.len(), MAX_OPEN);
        assert!(converter.open.is_empty() && converter.order.is_empty());
    }

    #[test]
    fn a_response_ends_its_request_span_and_one_without_a_request_starts_at_its_latency() {
        let mut converter = Converter::new(Transport::Tcp, false);
        let mut spans = Vec::new();
        let request = call(7, Verdict::Allow);
        converter.event(&request, &mut spans);
        assert_eq!(spans.len(), 1, "only the guardrail span ends with the request");
        let mut response = request.clone();
        response.kind = EventKind::Result;
        response.direction = Direction::ServerToClient;
        response.ts_ms += 40;
        response.result_status = Some(ResultStatus::ToolError);
        spans.clear();
        let log = converter.event(&response, &mut spans);
        let span = &spans[0];
        assert_eq!(span.name, "tools/call read_file");
        assert_eq!(
            span.end_time.duration_since(span.start_time).unwrap(),
            Duration::from_millis(40)
        );
        assert_eq!(attribute(span, "error.type"), Some(&Value::from("tool_error")));
        assert_eq!(log.trace, Some((span.span_context.trace_id(), span.span_context.span_id())));
        // Its request was never seen: the latency gives the start.
        let mut orphan = response.clone();
        orphan.id = Some("\"abc\"".into());
        orphan.latency_us = Some(25_000);
        orphan.result_status = Some(ResultStatus::Ok);
        spans.clear();
        converter.event(&orphan, &mut spans);
        assert_eq!(
            spans[0].end_time.duration_since(spans[0].start_time).unwrap(),
            Duration::from_millis(25)
        );
        assert_eq!(attribute(&spans[0], "jsonrpc.request.id"), Some(&Value::from("abc")));
        assert_eq!(attribute(&spans[0], "network.transport"), Some(&Value::from("tcp")));
    }
}

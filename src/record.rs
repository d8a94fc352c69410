//! Stage 6, *record*: every message's metadata is written down.
//!
//! A [`Recorder`] receives one [`Event`] per message (or refusal) and must not block the relay:
//! implementations hand the event to a background writer. [`TracingRecorder`] emits each event
//! through `tracing` (target `mcpfw::record`), which `mcpfw wrap` writes as JSON lines to its log.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::policy::Verdict;
use crate::session::{Direction, Inspection};

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Milliseconds since the Unix epoch.
    pub ts_ms: u64,
    pub server: String,
    pub direction: Direction,
    /// `request`, `notification`, `result`, `error`, `unmatched_response`, `batch` or `invalid`.
    pub kind: &'static str,
    pub method: Option<String>,
    pub id: Option<String>,
    pub tool: Option<String>,
    pub era: &'static str,
    pub protocol_version: Option<String>,
    /// `allow`, `deny`, or `reject` (malformed input answered with an error) or `drop`.
    pub verdict: &'static str,
    pub reason: Option<String>,
    /// For a response, microseconds since its request.
    pub latency_us: Option<u64>,
    pub cancels: Option<String>,
    pub bytes: u64,
}

impl Event {
    /// An event for a message that was inspected and decided.
    pub fn decided(server: &str, inspection: &Inspection, verdict: &Verdict, bytes: usize) -> Self {
        Self {
            ts_ms: now_ms(),
            server: server.to_owned(),
            direction: inspection.direction,
            kind: inspection.kind.as_str(),
            method: inspection.method.clone(),
            id: inspection.id.as_ref().map(ToString::to_string),
            tool: inspection.tool.clone(),
            era: inspection.era.name(),
            protocol_version: inspection.era.version().map(str::to_owned),
            verdict: verdict.as_str(),
            reason: match verdict {
                Verdict::Allow => None,
                Verdict::Deny { reason } => Some(reason.clone()),
            },
            latency_us: inspection
                .latency
                .map(|d| d.as_micros().try_into().unwrap_or(u64::MAX)),
            cancels: inspection.cancels.as_ref().map(ToString::to_string),
            bytes: bytes as u64,
        }
    }

    /// An event for input that never became a message (malformed, oversized).
    pub fn refused(
        server: &str,
        direction: Direction,
        verdict: &'static str,
        id: Option<String>,
        reason: String,
        bytes: u64,
    ) -> Self {
        Self {
            ts_ms: now_ms(),
            server: server.to_owned(),
            direction,
            kind: "invalid",
            method: None,
            id,
            tool: None,
            era: "unknown",
            protocol_version: None,
            verdict,
            reason: Some(reason),
            latency_us: None,
            cancels: None,
            bytes,
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Receives every event. Must return quickly; must not lose events it accepted.
pub trait Recorder: Send + Sync {
    fn record(&self, event: Event);
    /// Waits until every accepted event is durably written.
    fn flush(&self) {}
}

/// Emits each event through `tracing`, at `info` for traffic and `warn` for refusals.
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
                    direction = e.direction.as_str(),
                    kind = e.kind,
                    method = e.method.as_deref(),
                    id = e.id.as_deref(),
                    tool = e.tool.as_deref(),
                    era = e.era,
                    protocol_version = e.protocol_version.as_deref(),
                    verdict = e.verdict,
                    reason = e.reason.as_deref(),
                    latency_us = e.latency_us,
                    cancels = e.cancels.as_deref(),
                    bytes = e.bytes,
                    "message"
                )
            };
        }
        if e.verdict == "allow" {
            emit!(info)
        } else {
            emit!(warn)
        }
    }
}

//! Synthetic history events for the benches (store, postgres): tool calls and their results over
//! 10 servers and 37 tools, 70 % allowed, 10 % denied, 10 % asked, 10 % rejected.

use mcpfw::classify::Category;
use mcpfw::record::{DecidedBy, Event, EventKind, ResultStatus, Verdict};
use mcpfw::session::Direction;

/// The `i`th event, at `ts_ms`.
pub fn event(i: u64, ts_ms: u64) -> Event {
    use Verdict::{Allow, Ask, Deny, Reject};
    const VERDICTS: [Verdict; 10] =
        [Allow, Allow, Allow, Allow, Allow, Allow, Allow, Deny, Ask, Reject];
    Event {
        ts_ms,
        server: format!("server-{}", i % 10),
        session: format!("session-{}", i / 1000),
        direction: if i.is_multiple_of(2) {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        },
        kind: if i.is_multiple_of(2) { EventKind::Request } else { EventKind::Result },
        method: Some("tools/call".into()),
        id: Some(i.to_string()),
        tool: Some(format!("tool-{}", i % 37)),
        category: Some(Category::Read),
        era: "handshake",
        protocol_version: Some("2025-06-18".into()),
        verdict: VERDICTS[(i * 7 % 10) as usize],
        decided_by: Some(DecidedBy::Default),
        reason: None,
        latency_us: (i % 2 == 1).then_some(850),
        cancels: None,
        args_digest: Some(format!("{i:064x}")),
        args_redacted: Some(format!("{{\"path\":\"/home/user/project/src/file_{i}.rs\"}}")),
        result_status: (i % 2 == 1).then_some(ResultStatus::Ok),
        findings: Vec::new(),
        bytes: 200 + i % 5000,
    }
}

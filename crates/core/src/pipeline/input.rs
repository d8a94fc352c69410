//! Requests for input: what a server asks the person for — an `elicitation/create` request, or
//! the `inputRequests` of a 2026-07-28 `input_required` result — is judged before the client
//! shows it (see [`crate::input`]). It sits right after inspection, before the rules: the
//! rules judge calls, and these are not calls but questions to a person.
//!
//! Only messages that can carry such a request are parsed: a server's `elicitation/create`,
//! and results in the stateless era that name `inputRequests`.

use serde_json::Value;

use crate::input::{self, Judged};
use crate::jsonrpc::Id;
use crate::session::{Direction, Era, Inspection, Kind};

/// Where a request for input came from, which sets how it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A server's `elicitation/create` request: refused by answering the server `decline`.
    Request,
    /// A result of the client's request that asks for input first (`input_required`), or an
    /// error that sends the person to links first (`-32042`, URL elicitation required):
    /// refused by answering the client's request with a refusal.
    Result,
}

/// A request for input, judged.
pub(super) struct Asked {
    pub origin: Origin,
    pub judged: Judged,
}

/// The request for input `line` carries, judged; `None` for every other message.
pub(super) fn read(inspection: &Inspection, line: &[u8], server: &str) -> Option<Asked> {
    if inspection.direction != Direction::ServerToClient {
        return None;
    }
    let origin = match inspection.kind {
        Kind::Request if inspection.method.as_deref() == Some("elicitation/create") => {
            Origin::Request
        }
        Kind::Result
            if matches!(inspection.era, Era::Stateless { .. })
                && memchr::memmem::find(line, b"\"inputRequests\"").is_some() =>
        {
            Origin::Result
        }
        Kind::Error if memchr::memmem::find(line, b"\"elicitations\"").is_some() => Origin::Result,
        _ => return None,
    };
    let message: Value = serde_json::from_slice(line).ok()?;
    let requests = match origin {
        Origin::Request => vec![input::from_params(&message["params"])],
        Origin::Result if inspection.kind == Kind::Error => {
            message["error"]["data"]["elicitations"]
                .as_array()
                .map(|list| list.iter().take(16).map(input::from_params).collect())
                .unwrap_or_default()
        }
        Origin::Result => input::from_input_required(&message["result"]),
    };
    if requests.is_empty() {
        return None;
    }
    Some(Asked { origin, judged: input::judge(server, &requests) })
}

/// The server's request declined for the person: what the server is told.
pub(super) fn decline(id: &Id) -> Vec<u8> {
    format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{{"action":"decline","_meta":{{"mcp-firewall/refused":true}}}}}}"#,
        id.as_raw()
    )
    .into_bytes()
}

/// The key a held request for input waits under: apart from the client's call ids, so that a
/// client's cancellation of its call `7` does not withdraw the server's question `7`.
pub(super) fn held_key(origin: Origin, id: &Id) -> Id {
    let tag = match origin {
        Origin::Request => "server-request",
        Origin::Result => "input-required",
    };
    let raw = serde_json::to_string(&format!("mcpfw:{tag}:{}", id.as_raw()))
        .unwrap_or_else(|_| "\"mcpfw:input\"".to_owned());
    Id::from_raw(&raw).unwrap_or_else(|| id.clone())
}

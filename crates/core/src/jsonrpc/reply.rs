//! JSON-RPC error responses that MCP Firewall writes itself.

use super::decode::Id;

/// The error codes MCP Firewall answers with. Standard JSON-RPC codes for malformed input,
/// and codes from the implementation range -32000..-32019 (MCP reserves -32020..-32099) for
/// the firewall's own refusals, so a client can tell them apart from the server's errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// -32700: the line is not JSON (or not UTF-8).
    ParseError,
    /// -32600: JSON, but not a valid JSON-RPC request (or larger than the limit).
    InvalidRequest,
    /// -32001: the firewall's policy refused the call.
    Denied,
    /// -32002: the server's answer could not be passed on (malformed or oversized).
    BadServerResponse,
    /// -32003: the server could not be reached (HTTP servers).
    UpstreamUnreachable,
}

impl ErrorCode {
    pub fn code(self) -> i32 {
        match self {
            ErrorCode::ParseError => -32700,
            ErrorCode::InvalidRequest => -32600,
            ErrorCode::Denied => -32001,
            ErrorCode::BadServerResponse => -32002,
            ErrorCode::UpstreamUnreachable => -32003,
        }
    }
}

/// A complete JSON-RPC error response line (without the newline).
pub fn error_response(id: Option<&Id>, code: ErrorCode, message: &str) -> Vec<u8> {
    let message = serde_json::to_string(message).unwrap_or_else(|_| "\"error\"".into());
    let id = id.map_or("null", Id::as_raw);
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{},"message":{message},"data":{{"source":"mcp-firewall"}}}}}}"#,
        code.code()
    )
    .into_bytes()
}

/// A `tools/call` result with `isError: true` carrying `reason` as its text: how MCP clients
/// show a refused call to the model and the user. `stateless` adds the 2026-07-28
/// `resultType`.
pub fn tool_error_result(id: &Id, reason: &str, stateless: bool) -> Vec<u8> {
    let text = serde_json::to_string(reason).unwrap_or_else(|_| "\"refused\"".into());
    let result_type = if stateless { r#","resultType":"complete""# } else { "" };
    format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{{"content":[{{"type":"text","text":{text}}}],"isError":true{result_type},"_meta":{{"mcp-firewall/refused":true}}}}}}"#,
        id.as_raw()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_response_is_valid_json_rpc_with_the_same_id_bytes() {
        let id = Id::from_raw("\"req-1\"").unwrap();
        let line = error_response(Some(&id), ErrorCode::InvalidRequest, "bad \"thing\"\n");
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["id"], "req-1");
        assert_eq!(v["error"]["code"], -32600);
        assert_eq!(v["error"]["message"], "bad \"thing\"\n");
        assert!(!line.contains(&b'\n'));
        let v: serde_json::Value =
            serde_json::from_slice(&error_response(None, ErrorCode::ParseError, "x")).unwrap();
        assert!(v["id"].is_null());
    }
}

//! Stage 1, admit and decode: a frame over the size limit, or one that is not JSON-RPC, goes
//! no further. First because nothing after it can trust a byte it has not checked.

use crate::jsonrpc::{self, DecodeError, Decoded, ErrorCode, Frame, Id};

use super::Limits;

/// What the first stage made of a frame.
pub(super) enum Admitted<'a> {
    /// A blank line: stdio peers sometimes emit them; it carries nothing.
    Blank,
    /// One message or a batch, with the line it came in.
    Decoded(&'a [u8], Decoded<'a>),
    /// Not a relayable message: refused with this error.
    Unreadable(Unreadable),
}

/// Why a frame cannot be relayed, with the id it carried (when one could be found).
pub(super) struct Unreadable {
    pub id: Option<Id>,
    pub code: ErrorCode,
    pub reason: String,
    pub bytes: u64,
}

pub(super) fn admit<'a>(frame: &Frame<'a>, limits: Limits) -> Admitted<'a> {
    let line = match frame {
        Frame::Line(line) => *line,
        Frame::Oversized { len, head, tail } => {
            return Admitted::Unreadable(Unreadable {
                id: jsonrpc::recover_id(head, tail),
                code: ErrorCode::InvalidRequest,
                reason: format!(
                    "message of {len} bytes exceeds MCP Firewall's limit of {} bytes \
                     (raise it with `mcpfw wrap --max-message-bytes`)",
                    limits.max_message_bytes
                ),
                bytes: *len,
            });
        }
    };
    if line.iter().all(u8::is_ascii_whitespace) {
        return Admitted::Blank;
    }
    match jsonrpc::decode(line) {
        Ok(decoded) => Admitted::Decoded(line, decoded),
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
            Admitted::Unreadable(Unreadable {
                id,
                code,
                reason: error.to_string(),
                bytes: line.len() as u64,
            })
        }
    }
}

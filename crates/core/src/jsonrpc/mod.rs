//! Stage 1, *decode*: newline-delimited JSON-RPC framing and a zero-copy view of each message.
//!
//! Decoding never changes bytes. It only answers questions about them (kind, id, method, params)
//! while the original line is what gets forwarded. Everything here must tolerate hostile input:
//! no panics, bounded memory, a typed error for each way a line can be wrong.

mod decode;
mod framing;
mod reply;

pub use decode::{DecodeError, Decoded, Id, Message, decode};
pub use framing::{Frame, LineReader, recover_id};
pub use reply::{ErrorCode, error_response, tool_error_result};

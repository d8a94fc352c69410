//! Stage 4, *approve*, on the daemon's side: the broker of pending calls, the daemon's Unix
//! socket, the HTTP API, desktop notifications and the approver token. The wire messages, the
//! preview a person sees and the shims' client are in `mcpfw_core::approval`, re-exported here.

pub use mcpfw_core::approval::*;

pub mod broker;
pub mod daemon;
pub mod http;
pub mod notify;
pub mod token;

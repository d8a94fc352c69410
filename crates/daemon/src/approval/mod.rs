//! Stage 4, *approve*, on the daemon's side: the broker of pending calls, desktop
//! notifications and the approver token (the daemon process that serves them is `daemon.rs`;
//! its HTTP API is `api/`). The wire messages, the
//! preview a person sees and the shims' client are in `mcpfw_core::approval`, re-exported here.

pub use mcpfw_core::approval::*;

pub mod broker;
pub mod notify;
pub mod token;

//! Transports carry bytes between a client, the pipeline and a server. Each is a sibling behind
//! the same pipeline: [`stdio`] (the `mcpfw wrap` shim) here, HTTP in the daemon's `proxy`.
//! What they share (waiting for a person on a held call) is `mcpfw_core::transport`.

pub use mcpfw_core::transport::*;

pub mod stdio;

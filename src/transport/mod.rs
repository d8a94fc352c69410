//! Transports carry bytes between a client, the pipeline and a server. Each is a sibling behind
//! the same [`crate::pipeline::Pipeline`]: `stdio` (the `mcpfw wrap` shim) now, HTTP later.

pub mod stdio;

//! `mcpfw`, the MCP Firewall program: the command line ([`cli`]), the stdio shim
//! ([`transport::stdio`]), finding and starting servers ([`launch`]) and `mcpfw scan` ([`scan`]).
//!
//! The layers below are re-exported under their module names, so that the program, the
//! integration tests, the benches and the fuzzer name every part as `mcpfw::…`:
//! `mcpfw-core` (inspection and decisions), `mcpfw-store` (the history) and `mcpfw-daemon`
//! (broker, API, proxy, install). See ARCHITECTURE.md for the layer rule.

pub use mcpfw_core::VERSION;
pub use mcpfw_core::{
    classify, detect, finding, jsonrpc, paths, pipeline, policy, record, sandbox, screen, secrets,
    session, text,
};
pub use mcpfw_daemon::{api, approval, clients, daemon, install, jsonc, logging, org, proxy};
pub use mcpfw_store as store;

pub mod cli;
pub mod contain;
#[cfg(target_os = "linux")]
pub mod egress;
pub mod launch;
pub mod package;
pub mod platform;
pub mod scan;
pub mod transport;

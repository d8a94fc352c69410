//! MCP Firewall's core: everything that inspects, decides and records MCP traffic.
//!
//! One message flows through one pipeline: transport → decode → inspect → decide → forward →
//! record. Each stage is a module with a small typed interface, assembled in [`pipeline`].
//! See ARCHITECTURE.md for the map and the invariants.

pub mod api;
pub mod approval;
pub mod classify;
pub mod cli;
pub mod clients;
pub mod contain;
pub mod detect;
pub mod egress;
pub mod install;
pub mod jsonc;
pub mod jsonrpc;
pub mod launch;
pub mod logging;
pub mod paths;
pub mod pipeline;
pub mod policy;
pub mod proxy;
pub mod record;
pub mod sandbox;
pub mod scan;
pub mod screen;
pub mod secrets;
pub mod session;
pub mod store;
pub mod text;
pub mod transport;

/// The version of MCP Firewall.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

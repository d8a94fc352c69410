//! MCP Firewall's core: the pure parts of the pipeline that inspect and decide every MCP
//! message.
//!
//! One message flows through one pipeline: transport → decode ([`jsonrpc`]) → inspect
//! ([`session`], [`screen`], [`detect`]) → decide ([`policy`]) → approve ([`approval`]'s wire
//! types and client) → forward → record ([`record`]), assembled in [`pipeline`].
//!
//! The layer rule: this crate depends on no async runtime, database, HTTP stack or command-line
//! parser (no tokio, sqlx, axum, hyper, reqwest or clap), so it builds fast, tests without
//! processes, and ports to every platform. The history (`mcpfw-store`), the daemon
//! (`mcpfw-daemon`) and the `mcpfw` program build on it; see ARCHITECTURE.md.

#![forbid(unsafe_op_in_unsafe_fn)]

pub mod approval;
pub mod classify;
pub mod clean_lists;
pub mod containment;
pub mod detect;
pub mod finding;
pub mod input;
pub mod jsonrpc;
pub mod names;
pub mod package;
pub mod paths;
pub mod pipeline;
pub mod platform;
pub mod policy;
pub mod record;
pub mod sandbox;
pub mod screen;
pub mod secrets;
pub mod session;
pub mod shell;
pub mod text;
pub mod transport;

/// The version of MCP Firewall (every crate of the workspace shares it).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

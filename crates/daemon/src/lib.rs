//! MCP Firewall's daemon: what serves many connections at once — the approval broker behind
//! its Unix socket, the loopback HTTP API and dashboard, the HTTP reverse proxy and the stdio
//! bridge, the clients' configuration files (install and the drift watch), desktop
//! notifications and the log files.
//!
//! It builds on `mcpfw-core` (inspection and decisions) and `mcpfw-store` (the history), and is
//! what the desktop app links: it never depends on the command line (no clap).

// The layers below, under the names the modules of this crate use for them.
use mcpfw_core::{VERSION, jsonrpc, paths, pipeline, policy, record, session, text, transport};
use mcpfw_store as store;

pub mod api;
pub mod approval;
pub mod clients;
pub mod compose;
pub mod daemon;
pub mod install;
pub mod jsonc;
pub mod listen;
pub mod logging;
pub mod org;
pub mod outbound;
pub mod platform;
pub mod proxy;
pub mod telemetry;
pub mod tomlc;
pub mod yamlc;

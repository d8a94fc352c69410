//! The HTTP side of the firewall: a loopback reverse proxy in front of HTTP MCP servers, and the
//! stdio→HTTP bridge behind `mcpfw wrap --url`.
//!
//! A client reaches upstream `NAME` at `http://127.0.0.1:PORT/s/NAME/mcp` (Streamable HTTP, both
//! protocol eras). Every message goes through the same [`Pipeline`] as a stdio message: a posted
//! message as a whole, a streamed answer event by event as it arrives (nothing waits for the end
//! of a stream). Allowed messages pass byte-exact.
//!
//! `registry.rs` (the upstreams and the clients' tokens), `sse.rs` (events split with their raw
//! bytes), `upstream.rs` (talking to the real server, answers through the pipeline), `server.rs`
//! (the listener, its guard and the session table), `bridge.rs` (`mcpfw wrap --url`).
//!
//! [`Pipeline`]: crate::pipeline::Pipeline

pub mod bridge;
pub mod registry;
pub mod server;
pub mod sse;
pub mod upstream;

pub use server::{ProxyConfig, serve};

/// Runs a synchronous pipeline step from async code. A step usually takes microseconds, but it
/// may wait: a refusal is committed before it is told, a tool list is checked against its pins,
/// and a full history queue slows the sender down (`blocking_send`, which must not run on a
/// runtime worker). So on a multi-threaded runtime the worker hands its other tasks over while
/// the step runs.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

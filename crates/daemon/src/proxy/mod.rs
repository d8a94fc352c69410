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
pub mod legacy;
pub mod registry;
mod reply;
pub mod server;
pub mod sse;
pub mod upstream;

pub use server::{ProxyConfig, serve};

/// Waits for a person to decide a held call, off the runtime, sending progress notifications
/// under the call's token to `events` (the client's event stream) meanwhile. A closed stream
/// means the client went away: the call is withdrawn. `None` if the wait itself failed.
pub(crate) async fn wait_for_person_streaming(
    pipeline: std::sync::Arc<crate::pipeline::Pipeline>,
    held: crate::pipeline::HeldCall,
    events: tokio::sync::mpsc::Sender<bytes::Bytes>,
) -> Option<crate::pipeline::Settled> {
    tokio::task::spawn_blocking(move || {
        let token = held.progress_token.clone();
        let gone = held.withdrawn.clone();
        let progress = |waited: std::time::Duration| {
            if events.is_closed() {
                gone.store(true, std::sync::atomic::Ordering::SeqCst);
                return;
            }
            if let Some(token) = &token {
                let line = crate::transport::waiting_progress(token, waited);
                let _ = events.blocking_send(sse::message_event(&line));
            }
        };
        crate::transport::wait_for_person(&pipeline, held, progress)
    })
    .await
    .ok()
}

/// The proxy's effects runner: [`Background`](crate::pipeline::Background)'s, except that the
/// question a send asks the daemon about its client session — over the daemon's own socket,
/// served by this same runtime — first hands this worker's other tasks over to another thread
/// (`block_in_place`), so the answer is not stuck behind the task that waits for it.
pub(crate) struct HandOver;

impl crate::pipeline::Effects for HandOver {
    fn carry_out(&self, effect: crate::pipeline::Effect) {
        crate::pipeline::Background.carry_out(effect);
    }

    fn session_taint(
        &self,
        sockets: &[std::path::PathBuf],
        client: crate::approval::ClientSession,
        fragments: &[String],
    ) -> Option<crate::approval::SessionTaint> {
        let ask = || crate::pipeline::Background.session_taint(sockets, client, fragments);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(ask)
            }
            _ => ask(),
        }
    }
}

/// Runs a synchronous pipeline step from async code, in place. A step takes microseconds; the
/// waits it may contain (a refusal committed before it is told, a tool list checked against its
/// pins, a full history queue) hand the runtime worker over themselves (see
/// `store::recorder::wait_here`), so the common case pays no hand-over.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    f()
}

//! Serving the daemon's loopback HTTP listeners (the API and the proxy) with limits that
//! axum's own `serve` leaves out: a deadline for a request's headers, so a connection that
//! trickles its headers (or opens and says nothing) is closed rather than held forever, and a
//! cap on open connections, so idle or slow clients cannot use up the daemon's file
//! descriptors (which would also stop shims reaching the approval socket).

use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;

/// The first checks of every local listener, before anything else is read: `Host` is a
/// loopback name with this `port` (a page on a rebound DNS name is refused), and `Origin`, when
/// sent, is this listener's own.
pub(crate) fn check_local_request(
    headers: &axum::http::HeaderMap,
    port: u16,
) -> Result<(), (axum::http::StatusCode, &'static str)> {
    use axum::http::header;
    let own = [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")];
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !own.iter().any(|n| n.eq_ignore_ascii_case(host)) {
        return Err((
            axum::http::StatusCode::FORBIDDEN,
            "MCP Firewall answers only to its loopback address",
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://"))
            .is_some_and(|o| own.iter().any(|n| n.eq_ignore_ascii_case(o)));
        if !ok {
            return Err((
                axum::http::StatusCode::FORBIDDEN,
                "requests from other origins are refused",
            ));
        }
    }
    Ok(())
}

/// Whether a request's body is declared `application/json` (no page can send that cross-site
/// without a CORS preflight, which is never answered).
pub(crate) fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// How a listener is bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request's headers must have arrived this long after its first byte (or after the
    /// connection opened, for the first request).
    pub header_timeout: Duration,
    /// Connections open at once; beyond it, new ones wait in the kernel's queue.
    pub max_connections: usize,
}

/// The two ends of the connection a request came on, in its extensions: the proxy finds the
/// client process behind `remote` (its client session, for the data flow across servers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// The client's address.
    pub remote: std::net::SocketAddr,
    /// This listener's address, as the client connected to it.
    pub local: std::net::SocketAddr,
}

/// A service that puts the connection's [`Peer`] into each request's extensions.
struct WithPeer<S> {
    inner: S,
    peer: Peer,
}

impl<S> hyper::service::Service<hyper::Request<hyper::body::Incoming>> for WithPeer<S>
where
    S: hyper::service::Service<hyper::Request<hyper::body::Incoming>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, mut request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        request.extensions_mut().insert(self.peer);
        self.inner.call(request)
    }
}

/// Headers within 10 s; 256 connections.
pub const DEFAULT_LIMITS: Limits =
    Limits { header_timeout: Duration::from_secs(10), max_connections: 256 };

/// Serves `app` on `listener` (bound to 127.0.0.1 by the caller) until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
) -> std::io::Result<()> {
    let slots = std::sync::Arc::new(Semaphore::new(limits.max_connections));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                // Out of descriptors or similar: wait a moment rather than spin.
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(remote);
        let service =
            WithPeer { inner: TowerToHyperService::new(app.clone()), peer: Peer { remote, local } };
        let connection = http.serve_connection(TokioIo::new(stream), service);
        tokio::spawn(async move {
            // Errors here are one client's (reset, timed out, malformed): nothing to report.
            let _ = connection.await;
            drop(slot);
        });
    }
}

/// Accept errors that concern only the connection being accepted.
fn is_per_connection(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

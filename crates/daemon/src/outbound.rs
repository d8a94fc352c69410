//! The HTTP client for the connections MCP Firewall makes itself: to the upstream MCP servers
//! behind the proxy, and to fetch the organisation policy.

use std::time::Duration;

/// The HTTP client cannot be set up (no TLS back-end).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client")]
pub struct ClientError(#[source] pub reqwest::Error);

/// TLS through rustls, no redirects, a bounded connect time.
pub fn client() -> Result<reqwest::Client, ClientError> {
    // Installing fails only when a provider is already installed, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(ClientError)
}

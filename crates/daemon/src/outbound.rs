//! The HTTP client for the connections MCP Firewall makes itself: to the upstream MCP servers
//! behind the proxy, and to fetch the organisation policy.

use std::time::Duration;

use anyhow::{Context, Result};

/// TLS through rustls, no redirects, a bounded connect time.
pub fn client() -> Result<reqwest::Client> {
    // Installing fails only when a provider is already installed, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .context("cannot set up the HTTP client")
}

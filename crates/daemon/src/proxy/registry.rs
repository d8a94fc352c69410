//! The HTTP servers the proxy stands in front of, and the clients allowed to use it.
//!
//! Kept in `<data>/proxy.json`, readable by the owner only: each upstream by name with its URL,
//! and one random token per client (Claude Code, Cursor, …). A client sends its token in
//! [`TOKEN_HEADER`] on every request; the token is not the approver token, so a client (or the
//! agent driving it) that knows it can use its servers but never approve its own calls.
//! `Authorization` is left to the upstream's own OAuth, untouched.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::paths::Paths;

/// The header that carries a client's token to the proxy.
pub const TOKEN_HEADER: &str = "X-MCPFW-Token";
/// The proxy's loopback port unless [`PORT_ENV`] or the registry says otherwise: client
/// configurations name it, so it stays the same from one start to the next.
pub const DEFAULT_PORT: u16 = 47820;
/// Overrides the proxy's port (tests and side-by-side instances).
pub const PORT_ENV: &str = "MCPFW_PROXY_PORT";

/// The registry file's contents.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// The proxy's port (absent: [`DEFAULT_PORT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default)]
    pub upstreams: BTreeMap<String, Upstream>,
    /// Client name → its token.
    #[serde(default)]
    pub clients: BTreeMap<String, String>,
}

/// One HTTP MCP server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// Its MCP endpoint, e.g. `https://mcp.example.com/mcp` (for the legacy transport, its
    /// event stream, e.g. `…/sse`).
    pub url: String,
    /// The server speaks the legacy HTTP+SSE transport (2024-11-05): clients open
    /// `/s/NAME/sse` and post to the endpoint it announces.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legacy_sse: bool,
}

/// Where a client reaches an upstream through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `http://127.0.0.1:PORT/s/NAME/mcp`
    pub url: String,
    /// The client's token, sent in [`TOKEN_HEADER`].
    pub token: String,
}

/// Why the proxy's registry cannot be read or changed, or a route not added.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read {}", file.display())]
    Unreadable {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid proxy registry; fix or remove it", file.display())]
    Damaged {
        file: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write {}", file.display())]
    Unwritable {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The data folder cannot be created.
    #[error(transparent)]
    Folder(#[from] crate::paths::PathsError),
    #[error("the registry cannot be written: {0}")]
    Unserializable(serde_json::Error),
    #[error("{PORT_ENV}={value:?} is not a port number", PORT_ENV = PORT_ENV)]
    BadPort {
        value: String,
        #[source]
        source: std::num::ParseIntError,
    },
    #[error("no randomness is available to create a client token")]
    NoRandomness,
    #[error(
        "the {what} name {name:?} cannot be used: use 1 to 64 letters, digits, `.`, `_` or `-`"
    )]
    BadName { what: &'static str, name: String },
    /// An upstream address that is not allowed (see [`check_upstream`]).
    #[error(transparent)]
    Upstream(#[from] UpstreamUrlError),
    /// Both route names an entry could have lead to other servers.
    #[error("the proxy's routes `{first}` and `{second}` lead to other servers")]
    RoutesTaken { first: String, second: String },
}

/// Why an upstream URL is refused.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamUrlError {
    #[error("{text:?} is not a URL")]
    NotAUrl {
        text: String,
        #[source]
        source: url::ParseError,
    },
    #[error("the URL {text:?} carries credentials; MCP Firewall does not store them in URLs")]
    Credentials { text: String },
    #[error("the URL {text:?} has no host")]
    NoHost { text: String },
    #[error("the URL {text:?} uses {scheme}:, but only https: and http: are allowed")]
    Scheme { text: String, scheme: String },
}

type Result<T, E = RegistryError> = std::result::Result<T, E>;

pub fn registry_path(paths: &Paths) -> PathBuf {
    paths.data.join("proxy.json")
}

/// The registry (empty when there is no file yet).
pub fn load(paths: &Paths) -> Result<Registry> {
    let file = registry_path(paths);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Registry::default()),
        Err(source) => return Err(RegistryError::Unreadable { file, source }),
    };
    serde_json::from_str(&text).map_err(|source| RegistryError::Damaged { file, source })
}

fn save(paths: &Paths, registry: &Registry) -> Result<()> {
    Paths::ensure(&paths.data)?;
    let file = registry_path(paths);
    let text =
        serde_json::to_string_pretty(registry).map_err(RegistryError::Unserializable)? + "\n";
    crate::store::keys::write_private_file(&file, text.as_bytes())
        .map_err(|source| RegistryError::Unwritable { file, source })
}

/// The port the proxy listens on: `$MCPFW_PROXY_PORT`, else the registry's, else
/// [`DEFAULT_PORT`].
pub fn port(registry: &Registry) -> Result<u16> {
    match std::env::var(PORT_ENV) {
        Ok(value) => {
            value.trim().parse().map_err(|source| RegistryError::BadPort { value, source })
        }
        Err(_) => Ok(registry.port.unwrap_or(DEFAULT_PORT)),
    }
}

/// The loopback URL of upstream `name`.
pub fn route_url(port: u16, name: &str) -> String {
    format!("http://127.0.0.1:{port}/s/{name}/mcp")
}

/// Adds (or updates) upstream `name` at `upstream_url` for `client`, creating the client's token
/// the first time. Returns where the client reaches it.
pub fn register(paths: &Paths, client: &str, name: &str, upstream_url: &str) -> Result<Route> {
    insert(paths, client, name, Upstream { url: upstream_url.to_owned(), legacy_sse: false })
}

/// Like [`register`], for a server of the legacy HTTP+SSE transport; the route is
/// `http://127.0.0.1:PORT/s/NAME/sse`.
pub fn register_legacy(
    paths: &Paths,
    client: &str,
    name: &str,
    upstream_url: &str,
) -> Result<Route> {
    insert(paths, client, name, Upstream { url: upstream_url.to_owned(), legacy_sse: true })
}

fn insert(paths: &Paths, client: &str, name: &str, upstream: Upstream) -> Result<Route> {
    let upstream_url = upstream.url.clone();
    let legacy = upstream.legacy_sse;
    check_name("server", name)?;
    check_name("client", client)?;
    let checked = check_upstream(&upstream_url)?;
    if let Some(warning) = checked.warning {
        tracing::warn!(server = name, "{warning}");
    }
    let mut registry = load(paths)?;
    registry.upstreams.insert(name.to_owned(), upstream);
    let token = match registry.clients.get(client) {
        Some(token) => token.clone(),
        None => {
            let token = crate::approval::token::random_hex();
            if token.is_empty() {
                return Err(RegistryError::NoRandomness);
            }
            registry.clients.insert(client.to_owned(), token.clone());
            token
        }
    };
    save(paths, &registry)?;
    let mut url = route_url(port(&registry)?, name);
    if legacy {
        url = url.replace("/mcp", "/sse");
    }
    Ok(Route { url, token })
}

/// Removes upstream `name`. The client's token stays: other servers of the client use it.
pub fn unregister(paths: &Paths, client: &str, name: &str) -> Result<()> {
    check_name("client", client)?;
    let mut registry = load(paths)?;
    if registry.upstreams.remove(name).is_some() {
        save(paths, &registry)?;
    }
    Ok(())
}

/// Names appear in URLs and logs: letters, digits, `.`, `_` and `-`, at most 64.
fn check_name(what: &'static str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && name != "."
        && name != "..";
    if !ok {
        return Err(RegistryError::BadName { what, name: name.to_owned() });
    }
    Ok(())
}

/// An upstream URL that passed [`check_upstream`].
#[derive(Debug)]
pub struct CheckedUrl {
    pub url: url::Url,
    /// Set for plaintext HTTP to a host that is not this machine.
    pub warning: Option<String>,
}

/// Upstreams are `https://`, or `http://` — flagged unless the host is a loopback address.
/// Nothing else (no `file:`, no `javascript:`, no credentials in the URL).
pub fn check_upstream(text: &str) -> Result<CheckedUrl, UpstreamUrlError> {
    let url = url::Url::parse(text)
        .map_err(|source| UpstreamUrlError::NotAUrl { text: text.to_owned(), source })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UpstreamUrlError::Credentials { text: text.to_owned() });
    }
    let Some(host) = url.host_str() else {
        return Err(UpstreamUrlError::NoHost { text: text.to_owned() });
    };
    let warning = match url.scheme() {
        "https" => None,
        "http" if is_loopback(host) => None,
        "http" => Some(format!(
            "{text} is plain HTTP to another machine: anyone on the network path can read and \
             change the traffic, including tokens; use https"
        )),
        other => {
            return Err(UpstreamUrlError::Scheme {
                text: text.to_owned(),
                scheme: other.to_owned(),
            });
        }
    };
    Ok(CheckedUrl { url, warning })
}

/// `localhost`, or an address of the loopback network.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_creates_one_token_per_client_and_keeps_it() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let a = register(&paths, "cursor", "search", "https://mcp.example.com/mcp").unwrap();
        let b = register(&paths, "cursor", "docs", "http://127.0.0.1:9000/mcp").unwrap();
        let c = register(&paths, "vscode", "docs", "http://127.0.0.1:9000/mcp").unwrap();
        assert_eq!(a.token, b.token);
        assert_ne!(a.token, c.token);
        assert_eq!(a.token.len(), 64);
        assert!(b.url.ends_with("/s/docs/mcp"), "{}", b.url);
        let registry = load(&paths).unwrap();
        assert_eq!(registry.upstreams.len(), 2);
        unregister(&paths, "cursor", "search").unwrap();
        assert_eq!(load(&paths).unwrap().upstreams.len(), 1);
        assert!(!mcpfw_core::platform::private::open_to_others(&registry_path(&paths)));
    }

    #[test]
    fn upstream_urls_are_checked() {
        assert!(check_upstream("https://mcp.example.com/mcp").unwrap().warning.is_none());
        assert!(check_upstream("http://localhost:3001/mcp").unwrap().warning.is_none());
        assert!(check_upstream("http://[::1]:3001/mcp").unwrap().warning.is_none());
        assert!(check_upstream("http://mcp.example.com/mcp").unwrap().warning.is_some());
        for bad in ["file:///etc/passwd", "javascript:alert(1)", "https://u:p@h/mcp", "nope"] {
            assert!(check_upstream(bad).is_err(), "{bad}");
        }
        for bad in ["", "a/b", "..", "x y", &"n".repeat(65)] {
            assert!(check_name("server", bad).is_err(), "{bad:?}");
        }
    }
}

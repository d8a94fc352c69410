//! Remote (HTTP) entries: pointed at MCP Firewall's loopback HTTP proxy, which forwards to the
//! original address. The entry's address becomes the proxy's route for it, and a header
//! carries the route's token (so another local program cannot use the route); the entry's own
//! headers stay, and the client still sends them.

use crate::jsonc::{EntryError, Kind, Node};

use crate::paths::Paths;
use crate::proxy::registry;
pub use crate::proxy::registry::{RegistryError, TOKEN_HEADER};

/// Where the proxy serves one remote server, and the token the client must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The route's name in the proxy (`NAME` in the URL): the entry's name, made safe for a URL,
    /// with the client's name added when another client's entry of that name goes elsewhere.
    pub name: String,
    /// `http://127.0.0.1:PORT/s/NAME/mcp`.
    pub url: String,
    pub token: String,
}

/// The proxy's registry of routes (a trait so that install can be tested without one, and
/// runs without one when the proxy is not available).
pub trait Router {
    /// The header the token goes in.
    fn token_header(&self) -> &str;
    /// Registers (or finds) the route of `client`'s entry `name` to `upstream`.
    fn register(
        &self,
        client: &str,
        name: &str,
        upstream: &Upstream,
    ) -> Result<Route, RegistryError>;
    /// Forgets the route named `route` (after uninstall).
    fn unregister(&self, client: &str, route: &str) -> Result<(), RegistryError>;
}

/// The HTTP proxy's registry (`<data>/proxy.json`), which the daemon's proxy reads.
pub struct ProxyRegistry<'a>(pub &'a Paths);

impl Router for ProxyRegistry<'_> {
    fn token_header(&self) -> &str {
        TOKEN_HEADER
    }

    fn register(
        &self,
        client: &str,
        name: &str,
        upstream: &Upstream,
    ) -> Result<Route, RegistryError> {
        let current = registry::load(self.0)?;
        let elsewhere = |route: &str| {
            current
                .upstreams
                .get(route)
                .is_some_and(|u| u.url != upstream.url || u.legacy_sse != upstream.legacy_sse)
        };
        let mut route = route_name(name);
        if elsewhere(&route) {
            route = route_name(&format!("{name}-{client}"));
            if elsewhere(&route) {
                return Err(RegistryError::RoutesTaken { first: route_name(name), second: route });
            }
        }
        let registered = if upstream.legacy_sse {
            registry::register_legacy(self.0, client, &route, &upstream.url)?
        } else {
            registry::register(self.0, client, &route, &upstream.url)?
        };
        Ok(Route { name: route, url: registered.url, token: registered.token })
    }

    fn unregister(&self, client: &str, route: &str) -> Result<(), RegistryError> {
        registry::unregister(self.0, client, route)
    }
}

/// An entry's name as a route name: letters, digits, `.`, `_` and `-`, at most 64.
pub fn route_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' })
        .take(64)
        .collect();
    if out.is_empty() || out == "." || out == ".." {
        out = "server".to_owned();
    }
    out
}

pub use crate::clients::is_bridged;

/// A remote server as the proxy is told of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub url: String,
    /// The legacy HTTP+SSE transport (2024-11-05; `"type": "sse"` in the entry): the client
    /// opens `/s/NAME/sse`.
    pub legacy_sse: bool,
}

/// The address of a remote entry that the proxy can serve, or why not.
pub fn upstream(entry: &Node, url_key: &str) -> Result<Upstream, EntryError> {
    let url = entry
        .get(url_key)
        .or_else(|| entry.get("url"))
        .and_then(Node::as_str)
        .ok_or(EntryError::AddressNotString)?;
    let kind = entry.get("type").and_then(Node::as_str);
    // Gemini CLI's `url` (beside its `httpUrl`) is the legacy SSE transport unless a `type`
    // says otherwise.
    let sse_by_key = url_key == "httpUrl" && entry.get(url_key).is_none() && kind.is_none();
    let legacy_sse = sse_by_key || kind.is_some_and(|kind| kind.eq_ignore_ascii_case("sse"));
    if url.contains("${") {
        return Err(EntryError::AddressHasVariables);
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(EntryError::NotHttp(url.to_owned()));
    }
    Ok(Upstream { url: url.to_owned(), legacy_sse })
}

/// The route's address with its token in the path (`http://127.0.0.1:PORT/t/TOKEN/s/NAME/mcp`),
/// for files where a header cannot be added.
pub fn url_with_token(route: &Route) -> String {
    match route.url.split_once("/s/") {
        Some((origin, rest)) => format!("{origin}/t/{}/s/{rest}", route.token),
        None => route.url.clone(),
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The text of a remote entry with only its `url` replaced by `url` (a route with the token in
/// its path). Everything else stays byte for byte.
pub fn routed_address(text: &str, entry: &Node, url: &str) -> Result<String, EntryError> {
    let member = entry
        .member("url")
        .filter(|m| m.value.as_str().is_some())
        .ok_or(EntryError::AddressNotString)?;
    let start = entry.span.start;
    let span = member.value.span.start - start..member.value.span.end - start;
    Ok(super::apply(&text[entry.span.clone()], vec![(span, json_string(url))]))
}

/// The text of a remote entry pointed at `route`: the address (`url_key`, else `url`) replaced
/// and `header: token` added to (or replaced in) `headers`. Everything else stays byte for byte.
pub fn routed_entry(
    text: &str,
    entry: &Node,
    url_key: &str,
    header: &str,
    route: &Route,
) -> Result<String, EntryError> {
    let url = entry
        .member(url_key)
        .or_else(|| entry.member("url"))
        .filter(|m| m.value.as_str().is_some())
        .ok_or(EntryError::AddressNotString)?;
    let mut edits = vec![(url.value.span.clone(), json_string(&route.url))];
    let token = json_string(&route.token);
    match entry.member("headers") {
        None => edits.push((
            url.value.span.end..url.value.span.end,
            format!(", \"headers\": {{{}: {token}}}", json_string(header)),
        )),
        Some(headers) => match &headers.value.kind {
            Kind::Object(members) => {
                if let Some(existing) = members.iter().find(|m| m.key.eq_ignore_ascii_case(header))
                {
                    edits.push((existing.value.span.clone(), token));
                } else if members.is_empty() {
                    edits.push((
                        headers.value.span.clone(),
                        format!("{{{}: {token}}}", json_string(header)),
                    ));
                } else {
                    let open = headers.value.span.start + 1;
                    let space =
                        if text[open..].starts_with(char::is_whitespace) { "" } else { " " };
                    edits.push((open..open, format!("{}: {token},{space}", json_string(header))));
                }
            }
            _ => return Err(EntryError::HeadersNotObject),
        },
    }
    let start = entry.span.start;
    let relative =
        edits.into_iter().map(|(span, t)| (span.start - start..span.end - start, t)).collect();
    Ok(super::apply(&text[entry.span.clone()], relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> Route {
        Route {
            name: "docs".into(),
            url: "http://127.0.0.1:4000/s/docs/mcp".into(),
            token: "t0k".into(),
        }
    }

    fn routed(text: &str, key: &str) -> Result<String, EntryError> {
        let doc = crate::jsonc::parse(text).unwrap();
        routed_entry(text, &doc, key, "X-MCPFW-Token", &route())
    }

    #[test]
    fn a_remote_entry_points_at_its_route_and_sends_the_token_keeping_its_own_headers() {
        assert_eq!(
            routed("{\"type\": \"http\", \"url\": \"https://h/mcp\"}", "url").unwrap(),
            "{\"type\": \"http\", \"url\": \"http://127.0.0.1:4000/s/docs/mcp\", \"headers\": {\"X-MCPFW-Token\": \"t0k\"}}"
        );
        assert_eq!(
            routed(
                "{\"serverUrl\": \"https://h/mcp\", \"headers\": {\n  \"K\": \"v\"\n}}",
                "serverUrl"
            )
            .unwrap(),
            "{\"serverUrl\": \"http://127.0.0.1:4000/s/docs/mcp\", \"headers\": {\"X-MCPFW-Token\": \"t0k\",\n  \"K\": \"v\"\n}}"
        );
        assert_eq!(
            routed("{\"url\": \"https://h\", \"headers\": {}}", "url").unwrap(),
            "{\"url\": \"http://127.0.0.1:4000/s/docs/mcp\", \"headers\": {\"X-MCPFW-Token\": \"t0k\"}}"
        );
        assert_eq!(
            routed("{\"url\": \"https://h\", \"headers\": {\"x-mcpfw-token\": \"old\"}}", "url")
                .unwrap(),
            "{\"url\": \"http://127.0.0.1:4000/s/docs/mcp\", \"headers\": {\"x-mcpfw-token\": \"t0k\"}}"
        );
        assert!(routed("{\"url\": \"https://h\", \"headers\": []}", "url").is_err());
        let routed: serde_json::Value =
            serde_json::from_str(&routed("{\"url\": \"https://h\"}", "url").unwrap()).unwrap();
        assert!(is_bridged(&routed, routed["url"].as_str().unwrap(), "X-MCPFW-Token"));
    }

    #[test]
    fn routes_get_safe_names_and_a_name_taken_by_another_server_gets_the_clients() {
        assert_eq!(route_name("my server/v2"), "my-server-v2");
        assert_eq!(route_name(".."), "server");
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let proxy = ProxyRegistry(&paths);
        let up = |url: &str| Upstream { url: url.into(), legacy_sse: false };
        let a = proxy.register("cursor", "docs", &up("https://a.example/mcp")).unwrap();
        let same = proxy.register("vscode", "docs", &up("https://a.example/mcp")).unwrap();
        let b = proxy.register("windsurf", "docs", &up("https://b.example/mcp")).unwrap();
        let old = Upstream { url: "https://o.example/sse".into(), legacy_sse: true };
        assert!(proxy.register("cursor", "old", &old).unwrap().url.ends_with("/s/old/sse"));
        assert_eq!(
            (a.name.as_str(), same.name.as_str(), b.name.as_str()),
            ("docs", "docs", "docs-windsurf")
        );
        assert!(b.url.ends_with("/s/docs-windsurf/mcp"), "{}", b.url);
        assert_ne!(a.token, same.token, "one token per client");
    }

    #[test]
    fn http_addresses_are_routed_and_legacy_sse_ones_say_so() {
        let up = |text: &str| upstream(&crate::jsonc::parse(text).unwrap(), "url");
        assert_eq!(
            up("{\"url\": \"https://h/mcp\"}").unwrap(),
            Upstream { url: "https://h/mcp".into(), legacy_sse: false }
        );
        assert!(up("{\"type\": \"sse\", \"url\": \"https://h/sse\"}").unwrap().legacy_sse);
        assert!(up("{\"url\": \"${env:BASE}/mcp\"}").is_err());
        assert!(up("{\"url\": \"ws://h\"}").is_err());
    }
}

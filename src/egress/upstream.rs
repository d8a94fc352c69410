//! The user's own proxy (corporate machines set `HTTPS_PROXY` and friends): connections the
//! egress proxy allows go through it, chained with CONNECT, unless `NO_PROXY` exempts them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use percent_encoding::percent_decode_str;

/// How long the upstream proxy has to answer a CONNECT.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// One upstream proxy: where it listens and the credentials its URL carried.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    /// `Basic …` for `Proxy-Authorization`, from `http://user:pass@host:port`.
    authorization: Option<String>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the credentials.
        f.debug_struct("Proxy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("authorization", &self.authorization.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

impl Proxy {
    /// Parses `http://[user:pass@]host[:port][/]` (a bare `host:port` is taken as http). Other
    /// schemes (`socks5://`, `https://`) are not supported: `Err` says so.
    pub fn parse(text: &str) -> Result<Proxy, String> {
        let text = text.trim();
        let with_scheme =
            if text.contains("://") { text.to_owned() } else { format!("http://{text}") };
        let url = url::Url::parse(&with_scheme).map_err(|e| format!("`{text}`: {e}"))?;
        if url.scheme() != "http" {
            return Err(format!(
                "the {} proxy in `{}` is not supported (only http:// proxies are)",
                url.scheme(),
                url.host_str().unwrap_or("?")
            ));
        }
        let host = url.host_str().ok_or_else(|| format!("`{text}` names no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let authorization = (!url.username().is_empty()).then(|| {
            let user = percent_decode_str(url.username()).decode_utf8_lossy().into_owned();
            let pass =
                percent_decode_str(url.password().unwrap_or("")).decode_utf8_lossy().into_owned();
            format!("Basic {}", base64(format!("{user}:{pass}").as_bytes()))
        });
        Ok(Proxy { host, port: url.port().unwrap_or(80), authorization })
    }

    /// Opens a connection to the proxy.
    pub fn connect(&self, timeout: Duration) -> std::io::Result<TcpStream> {
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port).to_socket_addrs()?.collect();
        let mut last = std::io::Error::other(format!("{} resolves to nothing", self.host));
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// A tunnel to `authority` (`host:port`) through this proxy.
    pub fn tunnel(&self, authority: &str, timeout: Duration) -> std::io::Result<TcpStream> {
        let mut stream = self.connect(timeout)?;
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(auth) = &self.authorization {
            request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes())?;
        stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        // Read the answer's head byte by byte: nothing past it may be consumed (it belongs to
        // the tunnel).
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
            if head.len() > super::head::MAX_HEAD {
                return Err(std::io::Error::other("the upstream proxy's answer is too long"));
            }
            match stream.read(&mut byte)? {
                0 => return Err(std::io::Error::other("the upstream proxy closed the connection")),
                _ => head.push(byte[0]),
            }
        }
        stream.set_read_timeout(None)?;
        let status = String::from_utf8_lossy(&head);
        let line = status.lines().next().unwrap_or_default();
        let code = line.split(' ').nth(1).unwrap_or_default();
        if !code.starts_with('2') {
            return Err(std::io::Error::other(format!(
                "the upstream proxy {}:{} refused the tunnel: {}",
                self.host,
                self.port,
                crate::text::floor(line, 120)
            )));
        }
        Ok(stream)
    }

    /// The `Proxy-Authorization` header line for a plain-HTTP request, if any.
    pub fn authorization_header(&self) -> Option<String> {
        self.authorization.as_ref().map(|auth| format!("Proxy-Authorization: {auth}\r\n"))
    }
}

/// The upstream proxies in effect: one for tunnels (https), one for plain HTTP, and the hosts
/// that go direct.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upstream {
    pub https: Option<Proxy>,
    pub http: Option<Proxy>,
    /// `NO_PROXY` entries, lowercased (`example.com` covers its subdomains; `*` covers all).
    pub no_proxy: Vec<String>,
}

impl Upstream {
    /// From this process's environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`,
    /// upper or lower case). A proxy that cannot be used is reported once and ignored.
    pub fn from_env() -> Upstream {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Like [`Upstream::from_env`], from any source of variables.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Upstream {
        let get = |name: &str| {
            var(&name.to_ascii_lowercase())
                .or_else(|| var(name))
                .filter(|value| !value.trim().is_empty())
        };
        let parse = |name: &str, value: String| match Proxy::parse(&value) {
            Ok(proxy) => Some(proxy),
            Err(e) => {
                tracing::warn!(
                    "{name} is set but the egress proxy cannot use it ({e}); connections go direct"
                );
                None
            }
        };
        let all = get("ALL_PROXY");
        let https =
            get("HTTPS_PROXY").or_else(|| all.clone()).and_then(|v| parse("HTTPS_PROXY", v));
        let http = get("HTTP_PROXY").or(all).and_then(|v| parse("HTTP_PROXY", v));
        let no_proxy = get("NO_PROXY")
            .map(|v| {
                v.split(',')
                    .map(|h| h.trim().trim_start_matches('.').to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Upstream { https, http, no_proxy }
    }

    /// The proxy for a connection to `host` (`tunnel`: CONNECT, else plain HTTP), unless
    /// `NO_PROXY` exempts the host.
    pub fn for_host(&self, host: &str, tunnel: bool) -> Option<&Proxy> {
        let host = host.to_ascii_lowercase();
        let exempt = self.no_proxy.iter().any(|entry| {
            let entry = entry.split(':').next().unwrap_or(entry);
            entry == "*"
                || host == entry
                || host.strip_suffix(entry).is_some_and(|prefix| prefix.ends_with('.'))
        });
        if exempt {
            return None;
        }
        if tunnel { self.https.as_ref() } else { self.http.as_ref() }
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_come_from_the_environment_with_no_proxy_exemptions() {
        let vars = |name: &str| match name {
            "https_proxy" => Some("http://alice:p%40ss@proxy.corp:3128".to_owned()),
            "HTTP_PROXY" => Some("proxy.corp:8080".to_owned()),
            "NO_PROXY" => Some("localhost, .internal.corp ,10.0.0.1".to_owned()),
            _ => None,
        };
        let up = Upstream::from_vars(vars);
        let https = up.https.as_ref().unwrap();
        assert_eq!((https.host.as_str(), https.port), ("proxy.corp", 3128));
        assert_eq!(
            https.authorization_header().unwrap(),
            format!("Proxy-Authorization: Basic {}\r\n", base64(b"alice:p@ss"))
        );
        assert!(!format!("{https:?}").contains("Basic"), "credentials are never printed");
        assert_eq!(up.http.as_ref().unwrap().port, 8080);
        assert!(up.for_host("api.example.com", true).is_some());
        assert!(up.for_host("git.internal.corp", true).is_none());
        assert!(up.for_host("internal.corp", false).is_none());
        assert!(up.for_host("notinternal.corp", false).is_some());
        assert!(up.for_host("localhost", true).is_none());
        // An unusable proxy is ignored (and reported), never half-used.
        let socks = Upstream::from_vars(|n| (n == "ALL_PROXY").then(|| "socks5://h:1080".into()));
        assert_eq!(socks, Upstream::default());
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }
}

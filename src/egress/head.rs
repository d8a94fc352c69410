//! Reading and checking a proxy request's head: bounded in size and time, and nothing in it is
//! trusted beyond what is checked here.

use std::io::{self, Read};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// The largest request head accepted (request line and headers).
pub const MAX_HEAD: usize = 16 * 1024;

/// How long a client has to send its whole request head.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(10);

/// The methods a plain-HTTP (absolute-URI) request may use.
const HTTP_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

/// Headers that belong to one hop (the client's connection to this proxy) and are not passed
/// on; `Connection: close` is added instead (one request per connection, see the docs).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
];

/// A host as the client named it, checked and lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Name(String),
    Ip(IpAddr),
}

impl Host {
    /// Checks a host from a request: an IPv6 literal in brackets, an IPv4 literal, or a DNS name
    /// (letters, digits, `-`, `_`, dots; at most 253 characters; no empty label). A trailing dot
    /// is dropped.
    pub fn parse(text: &str) -> Result<Host, String> {
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or("an IPv6 address without its `]`")?;
            let ip: Ipv6Addr =
                inner.parse().map_err(|_| format!("`{inner}` is not an IPv6 address"))?;
            return Ok(Host::Ip(IpAddr::V6(ip)));
        }
        if let Ok(ip) = text.parse::<std::net::Ipv4Addr>() {
            return Ok(Host::Ip(IpAddr::V4(ip)));
        }
        let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !valid {
            return Err(format!("`{}` is not a host name", crate::text::floor(text, 80)));
        }
        Ok(Host::Name(name))
    }

    /// The host as rules and allow-lists see it (`::1` without brackets).
    pub fn text(&self) -> String {
        match self {
            Host::Name(name) => name.clone(),
            Host::Ip(ip) => ip.to_string(),
        }
    }

    /// The host as written in an authority (`[::1]`).
    pub fn authority(&self, port: u16) -> String {
        match self {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
            other => format!("{}:{port}", other.text()),
        }
    }
}

/// What the client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `CONNECT host:port`: a tunnel.
    Connect { host: Host, port: u16 },
    /// `GET http://host[:port]/path`: one plain-HTTP request. `head` is the request rewritten
    /// for the origin server (origin-form target, hop-by-hop headers removed,
    /// `Connection: close`); `absolute_head` the same with the absolute URI, for an upstream
    /// proxy.
    Http { method: String, host: Host, port: u16, head: Vec<u8>, absolute_head: Vec<u8> },
}

impl Request {
    pub fn host(&self) -> &Host {
        match self {
            Request::Connect { host, .. } | Request::Http { host, .. } => host,
        }
    }

    pub fn port(&self) -> u16 {
        match self {
            Request::Connect { port, .. } | Request::Http { port, .. } => *port,
        }
    }
}

/// Why a request head was not accepted: the status to answer with and what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal { status: 400, message: message.into() }
}

/// A request head, and the bytes that came after it in the same reads.
pub type HeadAndRest = (Vec<u8>, Vec<u8>);

/// Reads a request head from `stream` (within [`HEAD_DEADLINE`] and [`MAX_HEAD`]): the head
/// and whatever bytes followed it in the same reads. `Ok(None)`: the client closed before
/// sending anything.
pub fn read_head<S: Read + ?Sized>(
    stream: &mut S,
    set_timeout: &dyn Fn(Option<Duration>) -> io::Result<()>,
) -> Result<Option<HeadAndRest>, Refusal> {
    let deadline = Instant::now() + HEAD_DEADLINE;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Refusal {
                status: 408,
                message: format!(
                    "the request head did not arrive within {} s",
                    HEAD_DEADLINE.as_secs()
                ),
            });
        }
        set_timeout(Some(left)).map_err(|e| bad(format!("cannot read the request: {e}")))?;
        let n = match stream.read(&mut chunk) {
            Ok(0) if buf.is_empty() => return Ok(None),
            Ok(0) => return Err(bad("the connection closed in the middle of the request head")),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                continue;
            }
            Err(e) => return Err(bad(format!("cannot read the request: {e}"))),
        };
        let searched_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_end(&buf, searched_from) {
            let rest = buf.split_off(end);
            return Ok(Some((buf, rest)));
        }
        if buf.len() > MAX_HEAD {
            return Err(Refusal {
                status: 400,
                message: format!("the request head is larger than {} KiB", MAX_HEAD / 1024),
            });
        }
    }
}

/// The end of the head (just past the blank line), searching from `from`.
fn find_end(buf: &[u8], from: usize) -> Option<usize> {
    let tail = &buf[from..];
    memchr::memmem::find(tail, b"\r\n\r\n")
        .map(|i| from + i + 4)
        .or_else(|| memchr::memmem::find(tail, b"\n\n").map(|i| from + i + 2))
        .filter(|end| *end <= MAX_HEAD)
}

/// Parses a request head into what the client asked for.
pub fn parse(head: &[u8]) -> Result<Request, Refusal> {
    let text = std::str::from_utf8(head).map_err(|_| bad("the request head is not text"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the request line is not `METHOD target HTTP/1.1`"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad("the request line does not start with a method"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(bad(format!(
            "`{}` is not HTTP/1.0 or HTTP/1.1",
            crate::text::floor(version, 20)
        )));
    }
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad("a header line has no `:`"));
        };
        if name.is_empty() || !name.bytes().all(is_token) {
            return Err(bad("a header name is not a token"));
        }
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(bad("a header value holds control characters"));
        }
        headers.push((name, value.trim()));
    }

    if method == "CONNECT" {
        let (host, port) = authority(target, None)?;
        return Ok(Request::Connect { host, port });
    }
    if !HTTP_METHODS.contains(&method) {
        return Err(Refusal {
            status: 405,
            message: format!(
                "MCP Firewall's egress proxy relays CONNECT tunnels and plain-HTTP requests ({}), not {method}",
                HTTP_METHODS.join(", ")
            ),
        });
    }
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err(bad("for https, open a tunnel with CONNECT host:443 (set HTTPS_PROXY)"));
    }
    if !lower.starts_with("http://") {
        return Err(bad(
            "this is MCP Firewall's egress proxy: a request needs an absolute http:// URI (GET http://host/path) or CONNECT host:port",
        ));
    }
    let rest = &target[7..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, port) = authority(&rest[..end], Some(80))?;
    let mut path = rest[end..].split('#').next().unwrap_or_default().to_owned();
    if path.is_empty() || path.starts_with('?') {
        path.insert(0, '/');
    }
    if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad("the request's path holds spaces or control characters"));
    }
    let mut kept = String::new();
    let mut has_host = false;
    for (name, value) in &headers {
        let lower = name.to_ascii_lowercase();
        if HOP_BY_HOP.contains(&lower.as_str()) {
            continue;
        }
        if lower == "host" {
            has_host = true;
            // The Host header names the target of the absolute URI, never another host.
            kept.push_str(&format!("Host: {}\r\n", host_header(&host, port)));
            continue;
        }
        kept.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has_host {
        kept.push_str(&format!("Host: {}\r\n", host_header(&host, port)));
    }
    kept.push_str("Connection: close\r\n\r\n");
    let head = format!("{method} {path} {version}\r\n{kept}").into_bytes();
    let absolute = format!("http://{}{path}", host_header(&host, port));
    let absolute_head = format!("{method} {absolute} {version}\r\n{kept}").into_bytes();
    Ok(Request::Http { method: method.to_owned(), host, port, head, absolute_head })
}

fn host_header(host: &Host, port: u16) -> String {
    if port == 80 {
        match host {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
            other => other.text(),
        }
    } else {
        host.authority(port)
    }
}

/// `host:port` (or `host` with `default_port`), with no user information.
fn authority(text: &str, default_port: Option<u16>) -> Result<(Host, u16), Refusal> {
    if text.contains('@') {
        return Err(bad(
            "the target holds user information (`user@`), which the proxy does not pass on",
        ));
    }
    let (host, port) = match text.rfind(':') {
        // `[::1]` alone has colons inside the brackets only.
        Some(i) if !text[i..].contains(']') => (&text[..i], Some(&text[i + 1..])),
        _ => (text, None),
    };
    let port = match (port, default_port) {
        (Some(p), _) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(format!("`{}` is not a port", crate::text::floor(p, 20))))?,
        (None, Some(default)) => default,
        (None, None) => return Err(bad("CONNECT needs host:port")),
    };
    Ok((Host::parse(host).map_err(bad)?, port))
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(head: &str) -> Result<Request, Refusal> {
        parse(head.as_bytes())
    }

    #[test]
    fn connect_and_absolute_requests_are_understood() {
        assert_eq!(
            parsed("CONNECT Api.Example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap(),
            Request::Connect { host: Host::Name("api.example.com".into()), port: 443 }
        );
        assert_eq!(
            parsed("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n").unwrap(),
            Request::Connect { host: Host::Ip("::1".parse().unwrap()), port: 8443 }
        );
        let Request::Http { host, port, head, absolute_head, .. } = parsed(
            "GET http://example.com:8080/a?b=1 HTTP/1.1\r\nHost: evil.test\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n",
        )
        .unwrap() else {
            panic!("not http")
        };
        assert_eq!((host, port), (Host::Name("example.com".into()), 8080));
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        assert!(absolute_head.starts_with(b"GET http://example.com:8080/a?b=1 HTTP/1.1\r\n"));
        let Request::Http { head, port, .. } =
            parsed("GET http://example.com HTTP/1.0\n\n").unwrap()
        else {
            panic!("not http")
        };
        assert_eq!(port, 80);
        assert!(head.starts_with(b"GET / HTTP/1.0\r\nHost: example.com\r\n"));
    }

    #[test]
    fn everything_else_is_refused_with_a_reason() {
        for (head, status) in [
            ("GET /path HTTP/1.1\r\n\r\n", 400),
            ("GET https://example.com/ HTTP/1.1\r\n\r\n", 400),
            ("TRACE http://example.com/ HTTP/1.1\r\n\r\n", 405),
            ("CONNECT example.com HTTP/1.1\r\n\r\n", 400),
            ("CONNECT example.com:0 HTTP/1.1\r\n\r\n", 400),
            ("CONNECT example.com:99999 HTTP/1.1\r\n\r\n", 400),
            ("CONNECT user@example.com:443 HTTP/1.1\r\n\r\n", 400),
            ("GET http://a@b.example/ HTTP/1.1\r\n\r\n", 400),
            ("CONNECT exa mple.com:443 HTTP/1.1\r\n\r\n", 400),
            ("CONNECT ex\u{e4}mple.com:443 HTTP/1.1\r\n\r\n", 400),
            ("CONNECT ..:443 HTTP/1.1\r\n\r\n", 400),
            ("CONNECT [::1:443 HTTP/1.1\r\n\r\n", 400),
            ("get http://example.com/ HTTP/1.1\r\n\r\n", 400),
            ("GET http://example.com/ HTTP/2\r\n\r\n", 400),
            ("GET http://example.com/ HTTP/1.1\r\nno colon\r\n\r\n", 400),
            ("GET http://example.com/ HTTP/1.1\r\nX: a\u{1}b\r\n\r\n", 400),
            ("\u{0}\u{1}\u{2}", 400),
        ] {
            let refusal = parsed(head).unwrap_err();
            assert_eq!(refusal.status, status, "{head:?}: {refusal:?}");
            assert!(!refusal.message.is_empty());
        }
        assert_eq!(parse(&[0xff, 0xfe, b'\n', b'\n']).unwrap_err().status, 400);
    }

    #[test]
    fn no_input_makes_the_parser_panic() {
        // A small xorshift generator: varied, repeatable inputs built from request-like pieces.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pieces: [&[u8]; 16] = [
            b"CONNECT ",
            b"GET ",
            b"http://",
            b"[",
            b"]",
            b":",
            b"443",
            b"a.test",
            b" HTTP/1.1",
            b"\r\n",
            b"\n",
            b"Host: x",
            b"@",
            b"\xff",
            b"\x00",
            b"%",
        ];
        for _ in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..(next() % 12) {
                input.extend_from_slice(pieces[(next() % 16) as usize]);
            }
            let _ = parse(&input);
            let mut reader: &[u8] = &input;
            let _ = read_head(&mut reader, &|_| Ok(()));
        }
    }

    #[test]
    fn heads_are_bounded_and_split_from_what_follows() {
        let mut input: &[u8] = b"CONNECT a.test:1 HTTP/1.1\r\n\r\nhello";
        let (head, rest) = read_head(&mut input, &|_| Ok(())).unwrap().unwrap();
        assert!(head.ends_with(b"\r\n\r\n"));
        assert_eq!(rest, b"hello");
        let big = format!("GET http://a.test/ HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        let mut input = big.as_bytes();
        assert_eq!(read_head(&mut input, &|_| Ok(())).unwrap_err().status, 400);
        let mut empty: &[u8] = b"";
        assert_eq!(read_head(&mut empty, &|_| Ok(())).unwrap(), None);
        let mut cut: &[u8] = b"GET http://a.test/ HTTP/1.1\r\n";
        assert_eq!(read_head(&mut cut, &|_| Ok(())).unwrap_err().status, 400);
    }
}

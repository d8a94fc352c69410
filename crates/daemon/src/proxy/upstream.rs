//! Talking to the real HTTP server: what is sent on, and what its answers become.
//!
//! Requests carry only the headers MCP needs (`Authorization` among them, so the server's own
//! OAuth works; it is never logged). Redirects are not followed: a token is sent only to the URL
//! the user configured. Answers go through the pipeline as they arrive — a JSON body as one
//! message, an event stream event by event.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use bytes::Bytes;

use super::sse::{Splitter, SseEvent};
use crate::jsonrpc::Frame;
use crate::pipeline::{Action, Pipeline, Settled};
use crate::session::Direction;

/// Request headers passed on to the server; everything else (cookies, our token, Origin, Host)
/// stays here.
const REQUEST_HEADERS: [&str; 8] = [
    "accept",
    "content-type",
    "authorization",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
    "last-event-id",
    "user-agent",
];

/// Response headers passed back to the client (never CORS headers or cookies).
pub const RESPONSE_HEADERS: [&str; 5] =
    ["content-type", "mcp-protocol-version", "www-authenticate", "retry-after", "cache-control"];

pub const SESSION_HEADER: &str = "mcp-session-id";

pub use crate::outbound::client;

/// Sends one request to `url`: `headers` are the client's (filtered), `session` the server's
/// session id.
pub async fn send(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    headers: &HeaderMap,
    session: Option<&str>,
    body: Option<Bytes>,
) -> reqwest::Result<reqwest::Response> {
    let mut request = client.request(method, url);
    for name in REQUEST_HEADERS {
        for value in headers.get_all(name) {
            request = request.header(name, value.clone());
        }
    }
    if let Some(session) = session {
        request = request.header(SESSION_HEADER, session);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    request.send().await
}

/// The headers of the server's answer that go back to the client.
pub fn response_headers(upstream: &reqwest::header::HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in RESPONSE_HEADERS {
        for value in upstream.get_all(name) {
            out.append(HeaderName::from_static(name), value.clone());
        }
    }
    out
}

/// What kind of body the server answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    EventStream,
    Other,
}

pub fn body_kind(headers: &reqwest::header::HeaderMap) -> BodyKind {
    let media = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json") => BodyKind::Json,
        Some("text/event-stream") => BodyKind::EventStream,
        _ => BodyKind::Other,
    }
}

/// Why a server's answer could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the server's answer broke off")]
    BrokeOff(#[source] reqwest::Error),
    #[error("the server's answer exceeds MCP Firewall's limit of {limit} bytes")]
    TooLarge { limit: usize },
}

/// Reads a whole body, refusing one larger than `limit`.
pub async fn read_limited(response: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(BodyError::BrokeOff)?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What one message from the server becomes for the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Screened {
    /// Pass it on as it arrived.
    Same,
    /// Pass this instead (tools withheld, hidden text removed).
    Replaced(Vec<u8>),
    /// Keep it from the client (it was recorded).
    Dropped,
}

/// Sends a line to the server on the client's behalf (a server's request for input, declined
/// for the person): each transport posts it the way its client would.
pub type Reply = Arc<dyn Fn(Vec<u8>) + Send + Sync>;

/// Runs one server message through the pipeline; `reply` answers the server when the
/// firewall declines a request of its own.
pub fn screen(pipeline: &Pipeline, message: &[u8], reply: Option<&Reply>) -> Screened {
    let action =
        super::blocking(|| pipeline.process(Direction::ServerToClient, &Frame::Line(message)));
    match action {
        Action::Forward => Screened::Same,
        Action::AnswerClient(line) => Screened::Replaced(line),
        Action::Hold(held) => settle_here(pipeline, *held, reply),
        Action::AnswerServer(line) => {
            answer_server(pipeline, line, reply);
            Screened::Dropped
        }
        Action::Drop => Screened::Dropped,
    }
}

/// A server's request for input that a person looks at first: the server's stream waits for
/// the decision (its other streams go on).
fn settle_here(
    pipeline: &Pipeline,
    held: crate::pipeline::HeldCall,
    reply: Option<&Reply>,
) -> Screened {
    let wait = || crate::transport::wait_for_person(pipeline, held, |_| {});
    let settled = match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    };
    match settled {
        Settled::ForwardToClient(line) | Settled::AnswerClient(line) => Screened::Replaced(line),
        Settled::AnswerServer(line) => {
            answer_server(pipeline, line, reply);
            Screened::Dropped
        }
        Settled::Forward(_) | Settled::Nothing => Screened::Dropped,
    }
}

/// Tells the server its request was declined; where nothing can carry the answer, says that
/// the server waits for its own timeout.
fn answer_server(pipeline: &Pipeline, line: Vec<u8>, reply: Option<&Reply>) {
    match reply {
        Some(reply) => reply(line),
        None => tracing::warn!(
            server = pipeline.server(),
            "a request for input from the server was declined and kept from the client; the \
             server cannot be told here, so it waits for its own timeout"
        ),
    }
}

/// One event of a server's stream, as the client gets it (`None`: nothing to send). Events
/// without data (priming events, comments) pass as they are.
pub fn screen_event(
    pipeline: &Pipeline,
    event: &SseEvent,
    reply: Option<&Reply>,
) -> Option<Vec<u8>> {
    match event.data.as_deref() {
        Some(data) if !data.iter().all(u8::is_ascii_whitespace) => {
            match screen(pipeline, data, reply) {
                Screened::Same => Some(event.raw.clone()),
                Screened::Replaced(line) => Some(event.with_data(&line)),
                Screened::Dropped => None,
            }
        }
        _ => Some(event.raw.clone()),
    }
}

/// The server's event stream, screened event by event as it arrives.
pub fn screened_stream(
    pipeline: Arc<Pipeline>,
    response: reqwest::Response,
    limit: usize,
    server: String,
    reply: Option<Reply>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    use futures_util::StreamExt;
    let mut splitter = Splitter::new(limit);
    let mut broken = false;
    response.bytes_stream().filter_map(move |chunk| {
        let out = if broken {
            None
        } else {
            match chunk {
                Ok(chunk) => match splitter.push(&chunk) {
                    Ok(events) => {
                        let mut out = Vec::new();
                        for event in &events {
                            if let Some(bytes) = screen_event(&pipeline, event, reply.as_ref()) {
                                out.extend_from_slice(&bytes);
                            }
                        }
                        (!out.is_empty()).then(|| Ok(Bytes::from(out)))
                    }
                    Err(e) => {
                        broken = true;
                        tracing::warn!(server = %server, "{e}; the stream was ended");
                        Some(Err(std::io::Error::other(e.to_string())))
                    }
                },
                Err(e) => {
                    broken = true;
                    tracing::warn!(server = %server, "the server's stream broke off: {e}");
                    Some(Err(std::io::Error::other(e.to_string())))
                }
            }
        };
        std::future::ready(out)
    })
}

/// Why a server's `WWW-Authenticate` challenge is not passed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("a WWW-Authenticate header that is not text")]
    NotText,
    #[error("the server's sign-in metadata URL {url:?} is not https; it was not passed on")]
    NotHttps { url: String },
}

/// Checks the `resource_metadata` URL of a `WWW-Authenticate` challenge: a client may fetch it
/// and open the authorization server it names, so anything but `https:` (or `http:` to this
/// machine) is refused rather than passed on (cf. CVE-2025-6514).
pub fn check_challenge(value: &HeaderValue) -> Result<(), ChallengeError> {
    let text = value.to_str().map_err(|_| ChallengeError::NotText)?;
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.as_str();
    let mut offset = 0;
    while let Some(i) = rest.find("resource_metadata") {
        let after = &text[offset + i + "resource_metadata".len()..];
        let after = after.trim_start();
        if let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start();
            let url = match value.strip_prefix('"') {
                Some(quoted) => quoted.split('"').next().unwrap_or(""),
                None => value.split([',', ' ']).next().unwrap_or(""),
            };
            match url::Url::parse(url) {
                Ok(parsed)
                    if parsed.scheme() == "https"
                        || (parsed.scheme() == "http"
                            && parsed.host_str().is_some_and(super::registry::is_loopback)) => {}
                _ => {
                    return Err(ChallengeError::NotHttps { url: url.to_owned() });
                }
            }
        }
        offset += i + 1;
        rest = &lower[offset..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_metadata_must_be_https() {
        let ok = HeaderValue::from_static(
            r#"Bearer realm="mcp", resource_metadata="https://auth.example.com/.well-known/oauth-protected-resource""#,
        );
        assert!(check_challenge(&ok).is_ok());
        let local = HeaderValue::from_static(
            r#"Bearer resource_metadata="http://127.0.0.1:9/.well-known/oauth-protected-resource""#,
        );
        assert!(check_challenge(&local).is_ok());
        for bad in [
            r#"Bearer resource_metadata="file:///etc/passwd""#,
            r#"Bearer resource_metadata="http://evil.example.com/x""#,
            r#"Bearer resource_metadata=javascript:alert(1)"#,
            r#"Bearer resource_metadata="$(touch /tmp/pwned)""#,
        ] {
            assert!(check_challenge(&HeaderValue::from_str(bad).unwrap()).is_err(), "{bad}");
        }
        assert!(check_challenge(&HeaderValue::from_static("Basic realm=\"x\"")).is_ok());
    }
}

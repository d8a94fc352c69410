//! The legacy HTTP+SSE transport (2024-11-05), for older servers.
//!
//! The client opens `GET /s/NAME/sse`; the proxy opens the server's event stream, reads the
//! `endpoint` event (where the server wants messages posted — it must be on the server's own
//! origin, so a server cannot send the client's `Authorization` elsewhere) and announces its own
//! endpoint, `/s/NAME/messages?session=ID`, instead. Messages the client posts there go through
//! the pipeline and on to the server's endpoint; the server's answers arrive on its stream and go
//! through the pipeline event by event. The firewall's own answers (refusals, progress while a
//! person decides) are sent on the client's stream, where this transport carries responses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::{Semaphore, mpsc};

use super::reply::refuse;
use super::sse::{Splitter, message_event};
use super::upstream;
use crate::jsonrpc::Frame;
use crate::pipeline::{Action, Pipeline, Settled};
use crate::session::Direction;

/// What the legacy transport shares with the proxy: its own table of sessions, the proxy's
/// budget of open streams, its HTTP client and its limits. The proxy's listener hands it over
/// with each request (and the pipeline for a new session), so this module never names the
/// listener's (no cycle between the two).
#[derive(Clone)]
pub(crate) struct Legacy {
    sessions: Arc<Mutex<HashMap<String, Arc<LegacySession>>>>,
    streams: Arc<Semaphore>,
    http: reqwest::Client,
    max_sessions: usize,
    max_message_bytes: usize,
}

impl Legacy {
    pub(crate) fn new(
        streams: Arc<Semaphore>,
        http: reqwest::Client,
        max_sessions: usize,
        max_message_bytes: usize,
    ) -> Self {
        Self { sessions: Arc::default(), streams, http, max_sessions, max_message_bytes }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<LegacySession>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One client's connection to a legacy server.
pub(crate) struct LegacySession {
    upstream: String,
    client: String,
    /// The server's message endpoint, announced on its stream.
    endpoint: String,
    pipeline: Arc<Pipeline>,
    /// The client's event stream.
    out: mpsc::Sender<Bytes>,
}

/// Removes the session when the client's stream is dropped.
struct Forget {
    legacy: Legacy,
    id: String,
}

impl Drop for Forget {
    fn drop(&mut self) {
        let removed = self.legacy.sessions().remove(&self.id);
        if let Some(session) = removed {
            session.pipeline.withdraw_held();
        }
    }
}

/// `GET /s/NAME/sse`: opens the server's stream and hands the client its own.
/// `pipeline` makes the session's pipeline; it is awaited only once the limits allow one more.
pub(crate) async fn open(
    legacy: Legacy,
    pipeline: impl std::future::Future<Output = Result<Arc<Pipeline>, crate::store::StoreError>>,
    name: String,
    url: String,
    client: String,
    headers: HeaderMap,
    prefix: String,
) -> Response {
    let Ok(permit) = legacy.streams.clone().try_acquire_owned() else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "too many open event streams");
    };
    if legacy.sessions().len() >= legacy.max_sessions {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "too many open sessions");
    }
    let pipeline = match pipeline.await {
        Ok(pipeline) => pipeline,
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, &crate::text::error_chain(&e)),
    };
    let mut request_headers = headers.clone();
    request_headers.insert(header::ACCEPT, HeaderValue::from_static("text/event-stream"));
    let answer = match upstream::send(&legacy.http, Method::GET, &url, &request_headers, None, None)
        .await
    {
        Ok(answer) => answer,
        Err(e) => {
            return refuse(StatusCode::BAD_GATEWAY, &format!("the server cannot be reached: {e}"));
        }
    };
    if !answer.status().is_success()
        || upstream::body_kind(answer.headers()) != upstream::BodyKind::EventStream
    {
        let status = answer.status();
        let mut response = refuse(
            StatusCode::BAD_GATEWAY,
            &format!("the server did not open an event stream (HTTP {status})"),
        );
        response.headers_mut().extend(upstream::response_headers(answer.headers()));
        return response;
    }
    let limit = legacy.max_message_bytes;
    let mut splitter = Splitter::new(limit);
    let mut stream = answer.bytes_stream();
    // The first thing a legacy server says is where to post.
    let mut pending = Vec::new();
    let endpoint = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(chunk)) = stream.next().await {
            let Ok(events) = splitter.push(&chunk) else { return None };
            let mut found = None;
            for event in events {
                if found.is_none() && event.event.as_deref() == Some("endpoint") {
                    found = event.data.map(|d| String::from_utf8_lossy(&d).trim().to_owned());
                } else if found.is_some() {
                    pending.push(event);
                }
            }
            if found.is_some() {
                return found;
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    let Some(endpoint) = endpoint else {
        return refuse(
            StatusCode::BAD_GATEWAY,
            "the server did not announce where to post messages",
        );
    };
    let endpoint = match same_origin_endpoint(&url, &endpoint) {
        Ok(endpoint) => endpoint,
        Err(why) => {
            tracing::warn!(server = %name, "{why}");
            return refuse(StatusCode::BAD_GATEWAY, &why.to_string());
        }
    };
    let id = crate::approval::token::random_hex();
    if id.is_empty() {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "no randomness for a session id");
    }
    let (out, receiver) = mpsc::channel::<Bytes>(64);
    let session = Arc::new(LegacySession {
        upstream: name.clone(),
        client,
        endpoint,
        pipeline: pipeline.clone(),
        out: out.clone(),
    });
    legacy.sessions().insert(id.clone(), session.clone());
    // A server's request for input that the firewall declines is answered at the session's
    // endpoint, as the client would answer it.
    let reply: upstream::Reply = {
        let (http, headers) = (legacy.http.clone(), headers.clone());
        Arc::new(move |line: Vec<u8>| {
            let (http, headers, session) = (http.clone(), headers.clone(), session.clone());
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    send(&http, &session, &headers, Bytes::from(line)).await;
                });
            }
        })
    };
    let announce = format!("event: endpoint\ndata: {prefix}/s/{name}/messages?session={id}\n\n");
    let _ = out.send(Bytes::from(announce)).await;
    // The server's stream, screened event by event, onto the client's.
    tokio::spawn(async move {
        let relay = |events: Vec<super::sse::SseEvent>| {
            let mut bytes = Vec::new();
            for event in &events {
                if let Some(out) = upstream::screen_event(&pipeline, event, Some(&reply)) {
                    bytes.extend_from_slice(&out);
                }
            }
            bytes
        };
        let first = relay(std::mem::take(&mut pending));
        if !first.is_empty() && out.send(Bytes::from(first)).await.is_err() {
            return;
        }
        while let Some(Ok(chunk)) = stream.next().await {
            let Ok(events) = splitter.push(&chunk) else {
                tracing::warn!(server = %name, "an event of the server's stream is too large; the stream was ended");
                break;
            };
            let bytes = relay(events);
            if !bytes.is_empty() && out.send(Bytes::from(bytes)).await.is_err() {
                break; // the client went away
            }
        }
    });
    let forget = Forget { legacy, id };
    let body = tokio_stream::wrappers::ReceiverStream::new(receiver).map(move |chunk| {
        let _held = (&permit, &forget); // both live as long as the client's stream
        Ok::<_, std::io::Error>(chunk)
    });
    let mut response = Response::new(Body::from_stream(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Why the endpoint a legacy server announced is not used.
#[derive(Debug, thiserror::Error)]
enum EndpointError {
    /// The stream's own URL (from the registry) does not parse.
    #[error("{0}")]
    Stream(url::ParseError),
    #[error("the server announced an endpoint that is not a URL: {announced:?}")]
    NotAUrl { announced: String },
    #[error(
        "the server announced an endpoint on another origin ({announced:?}); messages are not sent \
         there"
    )]
    OtherOrigin { announced: String },
}

/// The endpoint a legacy server announced, resolved against its stream's URL; it must stay on
/// the server's origin.
fn same_origin_endpoint(stream_url: &str, announced: &str) -> Result<String, EndpointError> {
    let base = url::Url::parse(stream_url).map_err(EndpointError::Stream)?;
    let endpoint = base
        .join(announced)
        .map_err(|_| EndpointError::NotAUrl { announced: announced.to_owned() })?;
    if endpoint.origin() != base.origin() {
        return Err(EndpointError::OtherOrigin { announced: announced.to_owned() });
    }
    Ok(endpoint.to_string())
}

/// `POST /s/NAME/messages?session=ID`: a client message for a legacy server.
pub(crate) async fn post(
    legacy: Legacy,
    name: String,
    client: String,
    session_id: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let session = session_id.and_then(|id| legacy.sessions().get(&id).cloned());
    let Some(session) = session.filter(|s| s.upstream == name && s.client == client) else {
        return refuse(StatusCode::NOT_FOUND, "session not found; open /s/NAME/sse first");
    };
    let pipeline = session.pipeline.clone();
    match pipeline.process(Direction::ClientToServer, &Frame::Line(&body)) {
        Action::Forward => send(&legacy.http, &session, &headers, body).await,
        Action::AnswerServer(line) => {
            send(&legacy.http, &session, &headers, Bytes::from(line)).await
        }
        Action::AnswerClient(answer) => {
            let _ = session.out.send(message_event(&answer)).await;
            StatusCode::ACCEPTED.into_response()
        }
        Action::Drop => StatusCode::ACCEPTED.into_response(),
        Action::Hold(held) => {
            tokio::spawn(async move {
                let settled = super::wait_for_person_streaming(
                    session.pipeline.clone(),
                    *held,
                    session.out.clone(),
                )
                .await;
                match settled {
                    Some(Settled::Forward(line) | Settled::AnswerServer(line)) => {
                        let _ = send(&legacy.http, &session, &headers, Bytes::from(line)).await;
                    }
                    Some(Settled::AnswerClient(answer) | Settled::ForwardToClient(answer)) => {
                        let _ = session.out.send(message_event(&answer)).await;
                    }
                    Some(Settled::Nothing) | None => {}
                }
            });
            StatusCode::ACCEPTED.into_response()
        }
    }
}

/// Posts an allowed message to the server's endpoint; its answer comes on the stream.
async fn send(
    http: &reqwest::Client,
    session: &LegacySession,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    match upstream::send(http, Method::POST, &session.endpoint, headers, None, Some(body)).await {
        Ok(answer) => {
            let status = answer.status();
            let text = upstream::read_limited(answer, 64 * 1024).await.unwrap_or_default();
            (status, text).into_response()
        }
        Err(e) => refuse(StatusCode::BAD_GATEWAY, &format!("the server cannot be reached: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announced_endpoint_stays_on_the_servers_origin() {
        let base = "http://127.0.0.1:9000/sse";
        assert_eq!(
            same_origin_endpoint(base, "/messages/?session_id=1").unwrap(),
            "http://127.0.0.1:9000/messages/?session_id=1"
        );
        assert!(same_origin_endpoint(base, "http://127.0.0.1:9000/m").is_ok());
        for bad in [
            "http://evil.example.com/m",
            "//evil.example.com/m",
            "http://127.0.0.1:9001/m",
            "https://127.0.0.1:9000/m",
        ] {
            assert!(same_origin_endpoint(base, bad).is_err(), "{bad}");
        }
    }
}

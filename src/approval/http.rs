//! The daemon's loopback HTTP API, for the dashboard and approval pages.
//!
//! `GET /api/v1/pending`, `POST /api/v1/pending/{id}/decide` (`{"allow", "scope", "confirm"}`)
//! and `GET /api/v1/events` (server-sent events: calls starting to wait, and how they settled).
//!
//! Every request passes, in this order: a **Host** check (a loopback name with our port; this
//! defeats DNS rebinding before anything else is read), an **Origin** check (absent, or our own
//! origin), a **bearer token** (the approver token, compared in constant time), and for requests
//! with a body, **`Content-Type: application/json`** (so a cross-site form or `text/plain` post
//! cannot be sent). No CORS headers are ever sent. The listener binds 127.0.0.1 only.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::Scope;
use super::broker::{ApprovalBroker, Decided};

/// The largest request body read.
const MAX_BODY: usize = 64 * 1024;

#[derive(Clone)]
struct Api {
    broker: Arc<ApprovalBroker>,
    token: Arc<String>,
    port: u16,
    /// The decision history (absent when it could not be opened; those endpoints then say so).
    store: Option<crate::store::Store>,
}

/// Serves the API on `listener` (already bound to 127.0.0.1) until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    broker: Arc<ApprovalBroker>,
    token: Arc<String>,
    store: Option<crate::store::Store>,
) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    let api = Api { broker, token, port, store };
    let app = Router::new()
        .route("/api/v1/history", get(history))
        .route("/api/v1/history/verify", get(verify))
        .route("/api/v1/pending", get(pending))
        .route("/api/v1/pending/{id}/decide", post(decide))
        .route("/api/v1/events", get(events))
        .layer(middleware::from_fn_with_state(api.clone(), guard))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(api);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// The loopback origins of this port.
fn own(port: u16) -> [String; 3] {
    [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")]
}

async fn guard(State(api): State<Api>, request: Request, next: Next) -> Response {
    let headers: &HeaderMap = request.headers();
    let names = own(api.port);
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !names.iter().any(|n| n.eq_ignore_ascii_case(host)) {
        return refuse(StatusCode::FORBIDDEN, "this API answers only to its loopback address");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://"))
            .is_some_and(|o| names.iter().any(|n| n.eq_ignore_ascii_case(o)));
        if !ok {
            return refuse(StatusCode::FORBIDDEN, "requests from other origins are refused");
        }
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    if !super::same_secret(token.as_bytes(), api.token.as_bytes()) {
        return refuse(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request bodies must be application/json",
            );
        }
    }
    next.run(request).await
}

/// Filters of `GET /api/v1/history` (all optional).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    server: Option<String>,
    tool: Option<String>,
    verdict: Option<String>,
    category: Option<String>,
    since_ms: Option<u64>,
    until_ms: Option<u64>,
    text: Option<String>,
    before_seq: Option<i64>,
    limit: Option<u32>,
    #[serde(default)]
    all: bool,
}

/// Events, newest first, in the shape `mcpfw log --json` prints.
async fn history(
    State(api): State<Api>,
    axum::extract::Query(q): axum::extract::Query<HistoryQuery>,
) -> Response {
    let Some(store) = &api.store else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "the history database is not open");
    };
    let filter = crate::store::EventFilter {
        server: q.server,
        tool: q.tool,
        verdict: q.verdict,
        category: q.category,
        since_ms: q.since_ms,
        until_ms: q.until_ms,
        text: q.text,
        before_seq: q.before_seq,
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
        decisions_only: !q.all,
        ..crate::store::EventFilter::default()
    };
    match store.query(&filter).await {
        Ok(events) => {
            Json(events.iter().map(crate::cli::log::event_json).collect::<Vec<_>>()).into_response()
        }
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
    }
}

/// The hash chain's verification.
async fn verify(State(api): State<Api>) -> Response {
    let Some(store) = &api.store else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "the history database is not open");
    };
    match store.verify().await {
        Ok(report) => {
            Json(json!({"ok": report.ok, "checked": report.checked, "problem": report.problem}))
                .into_response()
        }
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
    }
}

async fn pending(State(api): State<Api>) -> Response {
    Json(api.broker.pending().await).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideBody {
    allow: bool,
    #[serde(default)]
    scope: Scope,
    #[serde(default)]
    confirm: bool,
}

async fn decide(
    State(api): State<Api>,
    UrlPath(id): UrlPath<u64>,
    body: axum::body::Bytes,
) -> Response {
    let body: DecideBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("bad decision: {e}")),
    };
    match api.broker.decide(id, body.allow, body.scope, body.confirm).await {
        Decided::Done => Json(json!({"status": "done"})).into_response(),
        Decided::NeedsConfirmation { fact, armed_in } => Json(json!({
            "status": "confirm", "fact": fact, "armed_in_ms": armed_in.as_millis() as u64
        }))
        .into_response(),
        Decided::NotArmed { fact, wait } => (
            StatusCode::CONFLICT,
            Json(json!({"error": "not confirmed yet", "fact": fact, "wait_ms": wait.as_millis() as u64})),
        )
            .into_response(),
        Decided::Unknown => refuse(StatusCode::NOT_FOUND, "no such pending call"),
    }
}

async fn events(
    State(api): State<Api>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(api.broker.subscribe()).filter_map(|event| {
        // A subscriber that falls behind misses events (and is told to re-read /pending).
        Some(Ok(match event {
            Ok(value) => Event::default().data(value.to_string()),
            Err(_) => Event::default().event("lagged").data("{}"),
        }))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

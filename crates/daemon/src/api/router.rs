//! The daemon's loopback HTTP API and the dashboard it serves.
//!
//! Approvals: `GET /api/v1/pending`, `POST /api/v1/pending/{id}/decide` (`{"allow", "scope",
//! "confirm"}`), `GET /api/v1/events` (server-sent events: calls starting to wait, and how they
//! settled). History: `GET /api/v1/history`, `GET /api/v1/history/verify`, `GET /api/v1/stats`.
//! Rules: `GET|POST /api/v1/rules`, `PUT|DELETE /api/v1/rules/{id}`, `POST /api/v1/rules/dry-run`.
//! `GET /api/v1/servers`, `POST /api/v1/servers/{server}/tools/{tool}/trust|block` and
//! `POST /api/v1/servers/{server}/package/trust|block` (`{"digest"}`: the change reviewed),
//! `POST /api/v1/servers/{server}/sandbox/grants` (`{"path", "access", "confirm"}`: a grant of
//! the server's box, from its next start), `GET|PUT /api/v1/settings`. The MCP clients' configurations:
//! `GET|POST /api/v1/install`, `POST /api/v1/uninstall`. Browser sign-in:
//! `POST /api/v1/login-codes` (bearer token only) and `GET /login?code=…`. The dashboard's
//! files at `/` (see [`crate::api::ui`]).
//!
//! Every request passes one guard, in this order: a **Host** check (a loopback name with our
//! port; this defeats DNS rebinding before anything else is read), an **Origin** check (absent,
//! or our own origin). Then, for `/api/`: **authentication** — the bearer token (the approver
//! token, compared in constant time) or a browser session cookie from a one-time login code
//! (see [`crate::api::auth`]) — and for requests with a body, **`Content-Type:
//! application/json`** (so a cross-site form or `text/plain` post cannot be sent). No CORS
//! headers are ever sent; every answer carries a strict Content-Security-Policy, `nosniff`,
//! `no-referrer` and `X-Frame-Options: DENY`. The listener binds 127.0.0.1 only.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::json;
use tokio_stream::StreamExt;

use crate::api::auth::{self, Sessions};
use crate::api::{overview, refuse, rules, ui};
use crate::approval::Scope;
use crate::approval::broker::{ApprovalBroker, Decided};
use crate::paths::Paths;

/// The largest request body read.
const MAX_BODY: usize = 64 * 1024;

/// What the API serves, handed over by the daemon.
pub struct HttpApi {
    pub broker: Arc<ApprovalBroker>,
    pub token: Arc<String>,
    /// The decision history (absent when it could not be opened; those endpoints then say so).
    pub store: Option<crate::store::Store>,
    pub paths: Paths,
    /// The built dashboard's folder.
    pub ui_dir: PathBuf,
    /// The settings that change while the daemon runs.
    pub settings: Arc<crate::api::settings::Live>,
}

#[derive(Clone)]
struct Api {
    broker: Arc<ApprovalBroker>,
    token: Arc<String>,
    port: u16,
    store: Option<crate::store::Store>,
    paths: Arc<Paths>,
    ui_dir: Arc<PathBuf>,
    settings: Arc<crate::api::settings::Live>,
    sessions: Arc<Sessions>,
}

/// Serves the API on `listener` (already bound to 127.0.0.1) until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, config: HttpApi) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    let api = Api {
        broker: config.broker,
        token: config.token,
        port,
        store: config.store,
        paths: Arc::new(config.paths),
        ui_dir: Arc::new(config.ui_dir),
        settings: config.settings,
        sessions: Arc::new(Sessions::default()),
    };
    let app = Router::new()
        .route("/api/v1/history", get(history))
        .route("/api/v1/history/verify", get(verify))
        .route("/api/v1/pending", get(pending))
        .route("/api/v1/pending/{id}/decide", post(decide))
        .route("/api/v1/pause", get(pause_get).post(pause_set).delete(pause_end))
        .route("/api/v1/events", get(events))
        .route("/api/v1/login-codes", post(login_code))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/rules", get(rules_list).post(rules_add))
        .route("/api/v1/rules/dry-run", post(rules_dry_run))
        .route("/api/v1/rules/{id}", delete(rules_remove).put(rules_replace))
        .route("/api/v1/servers", get(servers))
        .route("/api/v1/servers/{server}/tools/{tool}/trust", post(pin_trust))
        .route("/api/v1/servers/{server}/tools/{tool}/block", post(pin_block))
        .route("/api/v1/servers/{server}/package/trust", post(package_trust))
        .route("/api/v1/servers/{server}/package/block", post(package_block))
        .route("/api/v1/servers/{server}/sandbox/grants", post(sandbox_grant))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/settings", get(settings).put(settings_change))
        .route("/api/v1/organisation", get(organisation))
        .route("/api/v1/install", get(install_status).post(install_run))
        .route("/api/v1/uninstall", post(uninstall_run))
        .route("/api/{*rest}", axum::routing::any(no_such_endpoint))
        .route("/login", get(login))
        .fallback(get(static_file))
        .layer(middleware::from_fn_with_state(api.clone(), guard))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(api);
    crate::listen::serve(listener, app, crate::listen::DEFAULT_LIMITS).await
}

/// How a request proved who sent it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// The approver token (the CLI, the desktop app).
    Token,
    /// A browser session from a one-time login code.
    Session,
}

async fn guard(State(api): State<Api>, request: Request, next: Next) -> Response {
    let mut response = match check(&api, request) {
        Ok(request) => next.run(request).await,
        Err((status, message)) => refuse(status, message),
    };
    ui::secure_headers(response.headers_mut());
    response
}

/// The guard's checks, in order: the request to run, or the refusal.
fn check(api: &Api, mut request: Request) -> Result<Request, (StatusCode, &'static str)> {
    let headers: &HeaderMap = request.headers();
    crate::api::check_local_request(headers, api.port)?;
    if !request.uri().path().starts_with("/api/") {
        // The dashboard's files and the sign-in exchange: no authentication (see `api::ui`).
        return Ok(request);
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    let auth = match token {
        Some(token) if crate::approval::same_secret(token.as_bytes(), api.token.as_bytes()) => {
            Auth::Token
        }
        Some(_) => {
            return Err((StatusCode::UNAUTHORIZED, "a valid bearer token is required"));
        }
        None if auth::session_cookie(headers).is_some_and(|id| api.sessions.valid(&id)) => {
            Auth::Session
        }
        None => {
            return Err((
                StatusCode::UNAUTHORIZED,
                "sign in first: run `mcpfw dashboard` to open the dashboard, or send the approver \
                 token as a bearer token",
            ));
        }
    };
    // DELETE carries no body, and no page can send one cross-site without a CORS preflight,
    // which is never answered.
    if ![Method::GET, Method::HEAD, Method::DELETE].contains(request.method())
        && !crate::api::is_json(headers)
    {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request bodies must be application/json",
        ));
    }
    request.extensions_mut().insert(auth);
    Ok(request)
}

async fn no_such_endpoint(uri: Uri) -> Response {
    refuse(StatusCode::NOT_FOUND, &format!("no such endpoint: {}", uri.path()))
}

async fn static_file(State(api): State<Api>, uri: Uri) -> Response {
    ui::serve_file(&api.ui_dir, uri.path()).await
}

/// `POST /api/v1/login-codes`: a one-time code for `/login` (bearer token only: a browser
/// session cannot mint more sessions).
async fn login_code(
    State(api): State<Api>,
    axum::Extension(auth): axum::Extension<Auth>,
) -> Response {
    if auth != Auth::Token {
        return refuse(StatusCode::FORBIDDEN, "login codes are issued to the approver token only");
    }
    match api.sessions.issue_code() {
        Some(code) => Json(json!({
            "code": code,
            "path": format!("/login?code={code}"),
            "expires_in_ms": auth::CODE_LIFETIME.as_millis() as u64,
        }))
        .into_response(),
        None => refuse(StatusCode::INTERNAL_SERVER_ERROR, "no randomness for a login code"),
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    code: Option<String>,
}

/// `GET /login?code=…`: exchanges a one-time code for a session cookie and goes to the
/// dashboard.
async fn login(State(api): State<Api>, Query(q): Query<LoginQuery>) -> Response {
    let session = q.code.as_deref().and_then(|code| api.sessions.redeem(code));
    let Some(session) = session else {
        return ui::message_page(
            StatusCode::FORBIDDEN,
            "This sign-in link does not work",
            "Sign-in links work once, for 60 seconds. Run `mcpfw dashboard` again for a new one.",
        );
    };
    let cookie = format!("{}={session}; HttpOnly; SameSite=Strict; Path=/", auth::COOKIE);
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, HeaderValue::from_static("/"));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
    response
}

/// `POST /api/v1/logout`: ends this browser's session.
async fn logout(State(api): State<Api>, request_headers: HeaderMap) -> Response {
    if let Some(id) = auth::session_cookie(&request_headers) {
        api.sessions.end(&id);
    }
    let mut response = Json(json!({"status": "signed out"})).into_response();
    let expired = format!("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0", auth::COOKIE);
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The history, or why there is none.
fn store(api: &Api) -> Result<&crate::store::Store, Box<Response>> {
    api.store.as_ref().ok_or_else(|| {
        Box::new(refuse(StatusCode::SERVICE_UNAVAILABLE, "the history database is not open"))
    })
}

async fn rules_list(State(api): State<Api>) -> Response {
    match store(&api) {
        Ok(store) => rules::list(store, &api.paths).await,
        Err(refusal) => *refusal,
    }
}

async fn rules_add(State(api): State<Api>, body: axum::body::Bytes) -> Response {
    match store(&api) {
        Ok(store) => rules::add(store, &body).await,
        Err(refusal) => *refusal,
    }
}

async fn rules_remove(State(api): State<Api>, UrlPath(id): UrlPath<String>) -> Response {
    match store(&api) {
        Ok(store) => rules::remove(store, &id).await,
        Err(refusal) => *refusal,
    }
}

async fn rules_replace(
    State(api): State<Api>,
    UrlPath(id): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    match store(&api) {
        Ok(store) => rules::replace(store, &id, &body).await,
        Err(refusal) => *refusal,
    }
}

async fn rules_dry_run(State(api): State<Api>, body: axum::body::Bytes) -> Response {
    match store(&api) {
        Ok(store) => rules::dry_run(store, &api.paths, &body).await,
        Err(refusal) => *refusal,
    }
}

async fn servers(State(api): State<Api>) -> Response {
    match store(&api) {
        Ok(store) => overview::servers(store, &api.paths).await,
        Err(refusal) => *refusal,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinDecision {
    /// The digest of the definition the person reviewed.
    digest: String,
}

async fn pin_trust(
    State(api): State<Api>,
    UrlPath((server, tool)): UrlPath<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    pin_decide(&api, &server, &tool, &body, true).await
}

async fn pin_block(
    State(api): State<Api>,
    UrlPath((server, tool)): UrlPath<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    pin_decide(&api, &server, &tool, &body, false).await
}

/// Trusts or blocks a changed tool's waiting definition — only the one with the digest the
/// person reviewed (409 when the server changed it again since).
async fn pin_decide(api: &Api, server: &str, tool: &str, body: &[u8], trust: bool) -> Response {
    let store = match store(api) {
        Ok(store) => store,
        Err(refusal) => return *refusal,
    };
    let decision: PinDecision = match serde_json::from_slice(body) {
        Ok(d) => d,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("bad decision: {e}")),
    };
    let done = if trust {
        store.trust_pending(server, tool, &decision.digest).await
    } else {
        store.block_pending(server, tool, &decision.digest).await
    };
    match done {
        Ok(pin) => Json(overview::pin_json(&pin)).into_response(),
        Err(e) => refuse(StatusCode::CONFLICT, &crate::text::error_chain(&e)),
    }
}

async fn package_trust(
    State(api): State<Api>,
    UrlPath(server): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    package_decide(&api, &server, &body, true).await
}

async fn package_block(
    State(api): State<Api>,
    UrlPath(server): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    package_decide(&api, &server, &body, false).await
}

/// Trusts or blocks the package change waiting for a server (what `mcpfw tools trust|block
/// SERVER --package` do) — only the one whose digest the person reviewed (409 otherwise).
async fn package_decide(api: &Api, server: &str, body: &[u8], trust: bool) -> Response {
    let store = match store(api) {
        Ok(store) => store,
        Err(refusal) => return *refusal,
    };
    let decision: PinDecision = match serde_json::from_slice(body) {
        Ok(d) => d,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("bad decision: {e}")),
    };
    if decision.digest.trim().len() < 8 {
        return refuse(
            StatusCode::BAD_REQUEST,
            "digest needs at least 8 characters of the change's digest",
        );
    }
    let done = if trust {
        store.trust_package(server, decision.digest.trim()).await
    } else {
        store.block_package(server, decision.digest.trim()).await
    };
    match done {
        Ok(pin) => Json(crate::store::wire::ServerPackage::from(&pin)).into_response(),
        Err(e) => {
            use crate::store::packages::PackagePinError as E;
            let status = match e {
                E::NotPinned { .. } => StatusCode::NOT_FOUND,
                E::NoChange { .. } | E::ChangedAgain { .. } => StatusCode::CONFLICT,
                E::Corrupt(_) | E::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            refuse(status, &crate::text::error_chain(&e))
        }
    }
}

async fn stats(
    State(api): State<Api>,
    q: Result<Query<overview::StatsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    match store(&api) {
        Ok(store) => overview::stats(store, q).await,
        Err(refusal) => *refusal,
    }
}

async fn settings(State(api): State<Api>) -> Response {
    crate::api::settings::get(&api.settings, &api.paths, &api.ui_dir).await
}

/// `PUT /api/v1/settings`: like deciding a call, it needs the approver token or a browser
/// session (the guard's authentication); the proxy's client tokens are never accepted here.
/// `POST /api/v1/servers/{server}/sandbox/grants`: see [`crate::api::settings::sandbox_grant`].
async fn sandbox_grant(
    State(api): State<Api>,
    UrlPath(server): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    crate::api::settings::sandbox_grant(&api.paths, &server, &body).await
}

async fn settings_change(State(api): State<Api>, body: axum::body::Bytes) -> Response {
    crate::api::settings::put(&api.settings, &api.paths, api.store.as_ref(), &api.ui_dir, &body)
        .await
}

/// `GET /api/v1/organisation`: the organisation policy's status (`mcpfw org status`).
async fn organisation(State(api): State<Api>) -> Response {
    let paths = api.paths.clone();
    match tokio::task::spawn_blocking(move || crate::org::status(&paths)).await {
        Ok(status) => axum::Json(status).into_response(),
        Err(e) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({ "error": format!("cannot read the status: {e}") })),
        )
            .into_response(),
    }
}

async fn install_status(State(api): State<Api>) -> Response {
    crate::api::install::status(api.paths.clone()).await
}

async fn install_run(State(api): State<Api>, body: axum::body::Bytes) -> Response {
    crate::api::install::run(api.paths.clone(), &body, false).await
}

async fn uninstall_run(State(api): State<Api>, body: axum::body::Bytes) -> Response {
    crate::api::install::run(api.paths.clone(), &body, true).await
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
    q: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e.body_text()),
    };
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
        Ok(events) => Json(events.iter().map(crate::store::wire::event_json).collect::<Vec<_>>())
            .into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
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
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
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
    // An "hour" or "always" decision becomes the same database rule `mcpfw approve` writes.
    let request = match body.scope {
        Scope::Hour | Scope::Always => {
            api.broker.pending().await.into_iter().find(|p| p.id == id).map(|p| p.request)
        }
        Scope::Once | Scope::Session => None,
    };
    match api.broker.decide(id, body.allow, body.scope, body.confirm).await {
        Decided::Done => {
            let rule = request
                .and_then(|r| crate::approval::decision_rule(&r, body.allow, body.scope))
                .zip(api.store.as_ref());
            let Some(((spec, expires), store)) = rule else {
                return Json(json!({"status": "done"})).into_response();
            };
            let added = match serde_json::to_string(&spec) {
                Ok(text) => store.add_rule(&text, "approval", expires).await,
                Err(source) => {
                    Err(crate::store::StoreError::NotJson { what: "the rule".to_owned(), source })
                }
            };
            match added {
                Ok(rule) => Json(json!({"status": "done", "rule": format!("db:{rule}")})).into_response(),
                Err(e) => {
                    let e = crate::text::error_chain(&e);
                    tracing::error!(error = %e, "the rule of an approval could not be saved");
                    Json(json!({"status": "done", "rule_error": format!("the decision was taken, but its rule could not be saved: {e}")}))
                        .into_response()
                }
            }
        }
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

/// `POST /api/v1/pause`: `{"minutes": 15}`, or `{"until_resumed": true}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PauseBody {
    #[serde(default)]
    minutes: Option<u64>,
    #[serde(default)]
    until_resumed: bool,
}

fn pause_json(pause: Option<crate::approval::PauseState>) -> Response {
    Json(json!({"paused": pause.is_some(), "pause": pause})).into_response()
}

/// `GET /api/v1/pause`: `{"paused": bool, "pause": {"since_ms", "until_ms"} | null}`.
async fn pause_get(State(api): State<Api>) -> Response {
    pause_json(api.broker.pause_state().await)
}

async fn pause_set(State(api): State<Api>, body: axum::body::Bytes) -> Response {
    let body: PauseBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("bad pause: {e}")),
    };
    let minutes = match (body.minutes, body.until_resumed) {
        (Some(m), false) => Some(m),
        (None, true) => None,
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "bad pause: give either \"minutes\" or \"until_resumed\": true",
            );
        }
    };
    match api.broker.pause(minutes).await {
        Ok(pause) => pause_json(Some(pause)),
        Err(e) => refuse(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    }
}

/// `DELETE /api/v1/pause`: protection resumes (nothing happens when it was not paused).
async fn pause_end(State(api): State<Api>) -> Response {
    api.broker.resume().await;
    pause_json(None)
}

/// How often the event stream looks for newly recorded calls.
const TAIL_EVERY: Duration = Duration::from_millis(500);

/// `GET /api/v1/events`: the broker's events (`pending`, `settled`, `withheld`, `pause`, `passed_paused`) as they happen,
/// and each tool call or refusal recorded in the history from now on (`{"event": "call",
/// "call": <event in the history's shape>}`, polled every half second).
async fn events(
    State(api): State<Api>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(256);
    let mut approvals = api.broker.subscribe();
    let store = api.store.clone();
    tokio::spawn(async move {
        let newest = crate::store::EventFilter { limit: 1, ..Default::default() };
        let mut last_seq = match &store {
            Some(store) => store.query(&newest).await.ok().and_then(|e| e.first().map(|e| e.seq)),
            None => None,
        }
        .unwrap_or(0);
        let mut tick = tokio::time::interval(TAIL_EVERY);
        loop {
            let event = tokio::select! {
                _ = tx.closed() => break, // the client went away
                received = approvals.recv() => match received {
                    Ok(value) => Event::default().data(value.to_string()),
                    // A subscriber that falls behind misses events (and is told to re-read
                    // /pending).
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        Event::default().event("lagged").data("{}")
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => {
                    let Some(store) = &store else { continue };
                    let filter = crate::store::EventFilter {
                        after_seq: Some(last_seq),
                        ascending: true,
                        limit: 200,
                        decisions_only: true,
                        ..Default::default()
                    };
                    let Ok(recorded) = store.query(&filter).await else { continue };
                    let mut closed = false;
                    for e in &recorded {
                        last_seq = last_seq.max(e.seq);
                        let data = json!({"event": "call", "call": crate::store::wire::event_json(e)});
                        if tx.send(Event::default().data(data.to_string())).await.is_err() {
                            closed = true;
                            break;
                        }
                    }
                    if closed {
                        break;
                    }
                    continue;
                }
            };
            if tx.send(event).await.is_err() {
                break; // the client went away
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok);
    Sse::new(stream).keep_alive(KeepAlive::default())
}

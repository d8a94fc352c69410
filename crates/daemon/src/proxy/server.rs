//! The proxy's listener: `http://127.0.0.1:PORT/s/NAME/mcp` for each registered upstream.
//!
//! Every request passes one guard before anything else, in this order: **Host** is a loopback
//! name with our port (DNS rebinding is refused before a byte of the body is read), **Origin** is
//! absent or our own (403 otherwise), the client's **token** ([`TOKEN_HEADER`], or the
//! `/t/TOKEN/s/NAME/mcp` form for clients that cannot send headers) matches one of the
//! registered clients' (constant-time), and a POST is **`application/json`** (so no page can send
//! a form or `text/plain` post). No CORS header is ever sent. Bodies, events, sessions and open
//! streams are bounded.
//!
//! Sessions: on `initialize` the proxy mints its own `Mcp-Session-Id` for the client and keeps
//! the server's, so a session belongs to the client that opened it and a server's id never
//! reaches another client. Each session has its own [`Pipeline`]; 2026-07-28 stateless traffic
//! (no session) shares one pipeline per upstream and client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tokio::sync::Semaphore;

use super::legacy::Legacy;
use super::registry::{self, Registry, TOKEN_HEADER};
use super::reply::refuse;
use super::upstream::{self, BodyKind, SESSION_HEADER, Screened};
use crate::jsonrpc::{ErrorCode, Frame, Id, error_response};
use crate::listen::Peer;
use crate::paths::Paths;
use crate::pipeline::{Action, ApproverConfig, Limits, Pipeline, Settled};
use crate::record::Recorder;
use crate::session::Direction;

/// Limits of the proxy's listener.
#[derive(Debug, Clone, Copy)]
pub struct ProxyLimits {
    /// The largest request body, and the largest message or event from a server.
    pub max_message_bytes: usize,
    /// Sessions kept at once (the least recently used idle one makes room).
    pub max_sessions: usize,
    /// Event streams open at once.
    pub max_streams: usize,
    /// A session unused this long is forgotten.
    pub idle: Duration,
}

impl Default for ProxyLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 * 1024 * 1024,
            max_sessions: 256,
            max_streams: 64,
            idle: Duration::from_secs(3600),
        }
    }
}

/// What the proxy needs from the daemon.
pub struct ProxyConfig {
    pub paths: Paths,
    /// The history (for the rules and the neighbours of a new session's server).
    pub store: crate::store::Store,
    /// Where every message is recorded.
    pub recorder: Arc<dyn Recorder>,
    pub approver: ApproverConfig,
    pub limits: ProxyLimits,
}

pub(crate) struct Proxy {
    port: u16,
    paths: Paths,
    store: crate::store::Store,
    recorder: Arc<dyn Recorder>,
    approver: ApproverConfig,
    limits: ProxyLimits,
    http: reqwest::Client,
    /// The registry and the modification time it was read at (re-read when the file changes).
    registry: Mutex<(Option<SystemTime>, Arc<Registry>)>,
    sessions: Mutex<HashMap<String, Arc<HttpSession>>>,
    /// Stateless traffic: (upstream, client) → pipeline.
    stateless: Mutex<HashMap<(String, String), Arc<Pipeline>>>,
    streams: Arc<Semaphore>,
    /// The legacy HTTP+SSE transport's sessions (sharing the budget of open streams).
    legacy: Legacy,
}

/// One client's session with one upstream.
struct HttpSession {
    upstream: String,
    client: String,
    /// The server's own session id, once it gave one.
    upstream_id: Mutex<Option<String>>,
    pipeline: Arc<Pipeline>,
    last_used: Mutex<Instant>,
}

/// Who sent a request (set by the guard).
#[derive(Clone)]
struct ClientName(String);

type Shared = Arc<Proxy>;

/// Why the proxy cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listener's address, or the listening itself, failed.
    #[error("the proxy's listener failed")]
    Listener(#[from] std::io::Error),
    #[error(transparent)]
    Client(#[from] crate::outbound::ClientError),
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
}

/// No randomness for a session id: nothing secret can be issued.
#[derive(Debug, thiserror::Error)]
#[error("no randomness for a session id")]
struct NoRandomness;

/// Serves the proxy on `listener` (bound to 127.0.0.1) until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: ProxyConfig,
) -> Result<(), ServeError> {
    let port = listener.local_addr()?.port();
    let limit = config.limits.max_message_bytes;
    let http = upstream::client()?;
    let streams = Arc::new(Semaphore::new(config.limits.max_streams));
    let legacy = Legacy::new(
        streams.clone(),
        http.clone(),
        config.limits.max_sessions,
        config.limits.max_message_bytes,
    );
    let proxy = Arc::new(Proxy {
        port,
        http,
        registry: Mutex::new((None, Arc::new(registry::load(&config.paths)?))),
        paths: config.paths,
        store: config.store,
        recorder: config.recorder,
        approver: config.approver,
        streams,
        limits: config.limits,
        sessions: Mutex::new(HashMap::new()),
        stateless: Mutex::new(HashMap::new()),
        legacy,
    });
    let app = Router::new()
        .route("/s/{name}/mcp", any(handle))
        .route("/t/{token}/s/{name}/mcp", any(handle))
        .route("/s/{name}/sse", axum::routing::get(legacy_open))
        .route("/t/{token}/s/{name}/sse", axum::routing::get(legacy_open))
        .route("/s/{name}/messages", axum::routing::post(legacy_post))
        .route("/t/{token}/s/{name}/messages", axum::routing::post(legacy_post))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(proxy.clone(), guard))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(proxy);
    // More connections than the API: each client keeps a pool, and event streams hold theirs.
    let limits = crate::listen::Limits { max_connections: 1024, ..crate::listen::DEFAULT_LIMITS };
    crate::listen::serve(listener, app, limits).await?;
    Ok(())
}

/// A JSON-RPC error as the answer to a posted message.
fn rpc_error(status: StatusCode, id: Option<&Id>, code: ErrorCode, message: &str) -> Response {
    let body = error_response(id, code, message);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

impl Proxy {
    /// The registry, re-read when its file changed.
    fn registry(&self) -> Arc<Registry> {
        let file = registry::registry_path(&self.paths);
        let modified = std::fs::metadata(&file).and_then(|m| m.modified()).ok();
        let mut cached = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if cached.0 != modified {
            match registry::load(&self.paths) {
                Ok(registry) => *cached = (modified, Arc::new(registry)),
                Err(e) => tracing::error!(
                    "{}; the proxy keeps the registry it had",
                    crate::text::error_chain(&e)
                ),
            }
        }
        cached.1.clone()
    }

    /// A new pipeline for upstream `name`, with the rules in force now, sharing its data flow
    /// with the other connections of the client process behind `peer` (stdio servers it runs
    /// through `mcpfw wrap` included).
    async fn pipeline(
        &self,
        name: &str,
        url: &str,
        peer: Option<Peer>,
    ) -> Result<Arc<Pipeline>, crate::store::StoreError> {
        let inputs = crate::compose::PolicyInputs::load(&self.paths, &self.store).await?;
        crate::compose::register_server(&self.store, name, url).await?;
        let neighbours = self.store.neighbours(name).await?;
        // An HTTP server has no arguments to infer roots from: its roots are policy.toml's.
        let engine = inputs.engine(name, Vec::new());
        let limits = Limits { max_message_bytes: self.limits.max_message_bytes };
        let pipeline = crate::compose::pipeline(
            engine,
            Box::new(self.recorder.clone()),
            limits,
            self.approver.clone(),
            neighbours,
        )
        .with_clean_lists(mcpfw_core::clean_lists::CleanLists::at(
            self.paths.data.join(mcpfw_core::clean_lists::FILE),
        ));
        let client = match peer {
            Some(peer) => tokio::task::spawn_blocking(move || {
                crate::approval::client::client_session_of_peer(peer.remote, peer.local)
            })
            .await
            .unwrap_or(None),
            None => None,
        };
        let pipeline = pipeline.with_effects(Box::new(super::HandOver)).with_client_session(client);
        Ok(Arc::new(pipeline))
    }

    /// Makes room for a new session: forgets idle ones, then the least recently used one with
    /// no request in flight. Returns whether there is room, and the sessions forgotten (to be
    /// ended at their servers too).
    fn admit(
        &self,
        sessions: &mut HashMap<String, Arc<HttpSession>>,
    ) -> (bool, Vec<Arc<HttpSession>>) {
        let now = Instant::now();
        let idle: Vec<String> = sessions
            .iter()
            .filter(|(_, s)| {
                now.duration_since(*s.last_used.lock().unwrap_or_else(|p| p.into_inner()))
                    >= self.limits.idle
            })
            .map(|(id, _)| id.clone())
            .collect();
        let mut forgotten: Vec<_> = idle.iter().filter_map(|id| sessions.remove(id)).collect();
        if sessions.len() < self.limits.max_sessions {
            return (true, forgotten);
        }
        let victim = sessions
            .iter()
            .filter(|(_, s)| Arc::strong_count(s) == 1)
            .min_by_key(|(_, s)| *s.last_used.lock().unwrap_or_else(|p| p.into_inner()))
            .map(|(id, _)| id.clone());
        match victim.and_then(|id| sessions.remove(&id)) {
            Some(session) => {
                forgotten.push(session);
                (true, forgotten)
            }
            None => (false, forgotten),
        }
    }

    /// Ends forgotten sessions at their servers, in the background.
    fn end_sessions(self: &Arc<Self>, forgotten: Vec<Arc<HttpSession>>) {
        for session in forgotten {
            session.pipeline.withdraw_held();
            let upstream_id = session.upstream_id.lock().unwrap_or_else(|p| p.into_inner()).take();
            let url = self.registry().upstreams.get(&session.upstream).map(|u| u.url.clone());
            if let (Some(id), Some(url)) = (upstream_id, url) {
                let http = self.http.clone();
                tokio::spawn(async move {
                    let _ = upstream::send(
                        &http,
                        Method::DELETE,
                        &url,
                        &HeaderMap::new(),
                        Some(&id),
                        None,
                    )
                    .await;
                });
            }
        }
    }
}

async fn guard(State(proxy): State<Shared>, mut request: Request, next: Next) -> Response {
    let mut response = match check(&proxy, &mut request) {
        Ok(client) => {
            request.extensions_mut().insert(client);
            next.run(request).await
        }
        Err((status, message)) => {
            tracing::warn!(status = status.as_u16(), "proxy request refused: {message}");
            refuse(status, message)
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

fn check(proxy: &Proxy, request: &mut Request) -> Result<ClientName, (StatusCode, &'static str)> {
    let headers = request.headers();
    crate::listen::check_local_request(headers, proxy.port)?;
    let path_token = request
        .uri()
        .path()
        .strip_prefix("/t/")
        .and_then(|rest| rest.split('/').next())
        .map(str::to_owned);
    let token =
        headers.get(TOKEN_HEADER).and_then(|h| h.to_str().ok()).map(str::to_owned).or(path_token);
    let Some(token) = token else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "a client token is required (the X-MCPFW-Token header); `mcpfw install` configures \
             clients with theirs",
        ));
    };
    let registry = proxy.registry();
    // Every registered token is compared, so the time taken says nothing about which matched.
    let mut client = None;
    for (name, expected) in &registry.clients {
        if crate::approval::same_secret(token.as_bytes(), expected.as_bytes()) {
            client = Some(name.clone());
        }
    }
    let Some(client) = client else {
        return Err((StatusCode::UNAUTHORIZED, "this client token is not known to MCP Firewall"));
    };
    if request.method() == Method::POST && !crate::listen::is_json(headers) {
        {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "MCP messages must be application/json",
            ));
        }
    }
    Ok(ClientName(client))
}

async fn not_found() -> Response {
    refuse(StatusCode::NOT_FOUND, "no such route; servers are at /s/NAME/mcp")
}

/// The route's parameters: the server's name, and the token when it came in the path.
type RouteParams = UrlPath<HashMap<String, String>>;

async fn handle(
    State(proxy): State<Shared>,
    UrlPath(params): RouteParams,
    axum::Extension(client): axum::Extension<ClientName>,
    peer: Option<axum::Extension<Peer>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = params.get("name").cloned().unwrap_or_default();
    route(proxy, name, client.0, peer.map(|p| p.0), method, headers, body).await
}

/// The legacy upstream `name`, or why not.
fn legacy_upstream(proxy: &Proxy, name: &str) -> Result<String, Box<Response>> {
    match proxy.registry().upstreams.get(name) {
        Some(upstream) if upstream.legacy_sse => Ok(upstream.url.clone()),
        Some(_) => Err(Box::new(refuse(
            StatusCode::NOT_FOUND,
            "this server speaks Streamable HTTP: use /s/NAME/mcp",
        ))),
        None => Err(Box::new(refuse(
            StatusCode::NOT_FOUND,
            "no server of that name is registered with MCP Firewall's proxy (`mcpfw proxy list`)",
        ))),
    }
}

async fn legacy_open(
    State(proxy): State<Shared>,
    UrlPath(params): RouteParams,
    axum::Extension(client): axum::Extension<ClientName>,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
) -> Response {
    let name = params.get("name").cloned().unwrap_or_default();
    // The endpoint announced to the client keeps the form it came in by.
    let prefix = params.get("token").map(|t| format!("/t/{t}")).unwrap_or_default();
    match legacy_upstream(&proxy, &name) {
        Ok(url) => {
            let (upstream, address) = (name.clone(), url.clone());
            let pipeline = proxy.pipeline(&upstream, &address, peer.map(|p| p.0));
            super::legacy::open(
                proxy.legacy.clone(),
                pipeline,
                name,
                url,
                client.0,
                headers,
                prefix,
            )
            .await
        }
        Err(refusal) => *refusal,
    }
}

#[derive(serde::Deserialize)]
struct LegacyQuery {
    session: Option<String>,
}

async fn legacy_post(
    State(proxy): State<Shared>,
    UrlPath(params): RouteParams,
    axum::extract::Query(query): axum::extract::Query<LegacyQuery>,
    axum::Extension(client): axum::Extension<ClientName>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = params.get("name").cloned().unwrap_or_default();
    super::legacy::post(proxy.legacy.clone(), name, client.0, query.session, headers, body).await
}

async fn route(
    proxy: Shared,
    name: String,
    client: String,
    peer: Option<Peer>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let registry = proxy.registry();
    let Some(upstream) = registry.upstreams.get(&name) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "no server of that name is registered with MCP Firewall's proxy (`mcpfw proxy list`)",
        );
    };
    let url = upstream.url.clone();
    let session_id = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let session = match &session_id {
        Some(id) => {
            let found = proxy.sessions.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned();
            match found {
                Some(s) if s.upstream == name && s.client == client => {
                    *s.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
                    Some(s)
                }
                _ => {
                    return rpc_error(
                        StatusCode::NOT_FOUND,
                        None,
                        ErrorCode::InvalidRequest,
                        "session not found; start a new one with initialize",
                    );
                }
            }
        }
        None => None,
    };
    match method {
        Method::POST => post(proxy, name, url, client, peer, headers, body, session).await,
        Method::GET => {
            let Some(session) = session else {
                return refuse(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "a GET stream needs a session (Mcp-Session-Id)",
                );
            };
            get_stream(proxy, url, headers, session).await
        }
        Method::DELETE => {
            let Some(session) = session else {
                return refuse(StatusCode::BAD_REQUEST, "DELETE needs a session (Mcp-Session-Id)");
            };
            let upstream_id = session.upstream_id.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some(id) = &session_id {
                proxy.sessions.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
            }
            session.pipeline.withdraw_held();
            let Some(upstream_id) = upstream_id else {
                return StatusCode::NO_CONTENT.into_response();
            };
            match upstream::send(
                &proxy.http,
                Method::DELETE,
                &url,
                &headers,
                Some(&upstream_id),
                None,
            )
            .await
            {
                Ok(answer) => answer.status().into_response(),
                Err(_) => StatusCode::NO_CONTENT.into_response(),
            }
        }
        _ => refuse(StatusCode::METHOD_NOT_ALLOWED, "MCP uses POST, GET and DELETE"),
    }
}

/// The method and id of a posted message, read cheaply to route it before the pipeline runs.
#[derive(serde::Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    params: Option<PeekParams<'a>>,
}

#[derive(serde::Deserialize)]
struct PeekParams<'a> {
    #[serde(borrow, default)]
    name: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    uri: Option<std::borrow::Cow<'a, str>>,
}

/// A 2026-07-28 POST names its method (and tool, prompt or resource) in headers; an
/// intermediary routes by them, so a header that disagrees with the body is refused rather
/// than trusted (the firewall always classifies from the body).
fn headers_disagree(headers: &HeaderMap, peek: Option<&Peek<'_>>) -> Option<String> {
    let header =
        |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned());
    let method = peek.and_then(|p| p.method.as_deref());
    if let Some(said) = header("mcp-method")
        && Some(said.as_str()) != method
    {
        return Some(format!("the Mcp-Method header ({said:?}) does not match the body"));
    }
    if let Some(said) = header("mcp-name") {
        let params = peek.and_then(|p| p.params.as_ref());
        let body_name = params.and_then(|p| p.name.as_deref().or(p.uri.as_deref()));
        if Some(said.as_str()) != body_name {
            return Some(format!("the Mcp-Name header ({said:?}) does not match the body"));
        }
    }
    None
}

#[allow(clippy::too_many_arguments)] // one request's parts, each used once
async fn post(
    proxy: Shared,
    name: String,
    url: String,
    client: String,
    peer: Option<Peer>,
    headers: HeaderMap,
    body: Bytes,
    session: Option<Arc<HttpSession>>,
) -> Response {
    let peek: Option<Peek<'_>> = serde_json::from_slice(&body).ok();
    if let Some(mismatch) = headers_disagree(&headers, peek.as_ref()) {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":null,"error":{{"code":-32020,"message":{}}}}}"#,
            serde_json::to_string(&mismatch).unwrap_or_default()
        );
        return (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "application/json")], body)
            .into_response();
    }
    let initialize = peek.as_ref().and_then(|p| p.method.as_deref()) == Some("initialize");
    let (session, pipeline) = match session {
        Some(session) => {
            let pipeline = session.pipeline.clone();
            (Some(session), pipeline)
        }
        None if initialize => {
            let pipeline = match proxy.pipeline(&name, &url, peer).await {
                Ok(p) => p,
                Err(e) => return unavailable(&e),
            };
            let session = Arc::new(HttpSession {
                upstream: name.clone(),
                client: client.clone(),
                upstream_id: Mutex::new(None),
                pipeline: pipeline.clone(),
                last_used: Mutex::new(Instant::now()),
            });
            (Some(session), pipeline)
        }
        None => {
            let key = (name.clone(), client.clone());
            let existing =
                proxy.stateless.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
            let pipeline = match existing {
                Some(p) => p,
                None => match proxy.pipeline(&name, &url, peer).await {
                    Ok(p) => {
                        let mut table = proxy.stateless.lock().unwrap_or_else(|p| p.into_inner());
                        table.entry(key).or_insert(p).clone()
                    }
                    Err(e) => return unavailable(&e),
                },
            };
            (None, pipeline)
        }
    };

    let action =
        super::blocking(|| pipeline.process(Direction::ClientToServer, &Frame::Line(&body)));
    let line = match action {
        Action::Forward => body,
        Action::AnswerClient(answer) => return json_answer(StatusCode::OK, answer),
        // Sending a line to the server is what a client's message does: it goes on.
        Action::AnswerServer(line) => Bytes::from(line),
        Action::Drop => return StatusCode::ACCEPTED.into_response(),
        Action::Hold(held) if held.progress_token.is_some() && accepts_events(&headers) => {
            return held_as_stream(proxy, name, url, headers, session, pipeline, *held);
        }
        Action::Hold(held) => {
            // If the client goes away while a person decides, the call is withdrawn.
            let withdraw = WithdrawOnDrop(held.withdrawn.clone());
            let pipeline = pipeline.clone();
            let settled = tokio::task::spawn_blocking(move || {
                crate::transport::wait_for_person(&pipeline, *held, |_| {})
            })
            .await;
            drop(withdraw);
            match settled {
                Ok(Settled::Forward(line) | Settled::AnswerServer(line)) => Bytes::from(line),
                Ok(Settled::AnswerClient(answer) | Settled::ForwardToClient(answer)) => {
                    return json_answer(StatusCode::OK, answer);
                }
                Ok(Settled::Nothing) => return StatusCode::ACCEPTED.into_response(),
                Err(_) => {
                    return rpc_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        None,
                        ErrorCode::Denied,
                        "MCP Firewall could not complete the approval; the call was not sent",
                    );
                }
            }
        }
    };

    forward(proxy, name, url, headers, session, pipeline, line, initialize).await
}

/// Whether the client takes an event stream as the answer to its POST.
fn accepts_events(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/event-stream"))
}

/// A call waiting for a person, answered as an event stream: progress notifications under the
/// call's token while the person decides (clients time out after 60 s without them), then the
/// server's answer (or the refusal). If the client goes away, the call is withdrawn.
#[allow(clippy::too_many_arguments)]
fn held_as_stream(
    proxy: Shared,
    name: String,
    url: String,
    headers: HeaderMap,
    session: Option<Arc<HttpSession>>,
    pipeline: Arc<Pipeline>,
    held: crate::pipeline::HeldCall,
) -> Response {
    let (events, receiver) = tokio::sync::mpsc::channel::<Bytes>(16);
    let withdrawn = held.withdrawn.clone();
    tokio::spawn(async move {
        let settled =
            super::wait_for_person_streaming(pipeline.clone(), held, events.clone()).await;
        let response = match settled {
            Some(Settled::Forward(line) | Settled::AnswerServer(line)) => {
                forward(proxy, name, url, headers, session, pipeline, Bytes::from(line), false)
                    .await
            }
            Some(Settled::AnswerClient(answer) | Settled::ForwardToClient(answer)) => {
                json_answer(StatusCode::OK, answer)
            }
            Some(Settled::Nothing) | None => return,
        };
        pipe_as_events(response, &events).await;
    });
    let body = futures_util::StreamExt::map(
        tokio_stream::wrappers::ReceiverStream::new(receiver),
        Ok::<_, std::io::Error>,
    );
    let guard = WithdrawOnDrop(withdrawn);
    let body = futures_util::StreamExt::map(body, move |item| {
        let _guard = &guard; // dropped with the stream: the client went away
        item
    });
    let mut response = Response::new(Body::from_stream(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Passes an answer on as events: an event stream as it is, a JSON body as one event.
async fn pipe_as_events(response: Response, events: &tokio::sync::mpsc::Sender<Bytes>) {
    use futures_util::StreamExt;
    let streamed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let mut body = response.into_body().into_data_stream();
    if streamed {
        while let Some(Ok(chunk)) = body.next().await {
            if events.send(chunk).await.is_err() {
                return;
            }
        }
        return;
    }
    let mut whole = Vec::new();
    while let Some(Ok(chunk)) = body.next().await {
        whole.extend_from_slice(&chunk);
    }
    let whole = whole.trim_ascii();
    if whole.starts_with(b"{") {
        let _ = events.send(super::sse::message_event(whole)).await;
    }
}

/// Sends an allowed message to the server and answers the client with what comes back.
#[allow(clippy::too_many_arguments)]
async fn forward(
    proxy: Shared,
    name: String,
    url: String,
    headers: HeaderMap,
    session: Option<Arc<HttpSession>>,
    pipeline: Arc<Pipeline>,
    line: Bytes,
    initialize: bool,
) -> Response {
    let upstream_id = session
        .as_ref()
        .and_then(|s| s.upstream_id.lock().unwrap_or_else(|p| p.into_inner()).clone());
    let answer = match upstream::send(
        &proxy.http,
        Method::POST,
        &url,
        &headers,
        upstream_id.as_deref(),
        Some(line.clone()),
    )
    .await
    {
        Ok(answer) => answer,
        Err(e) => return unreachable(&name, &line, &e),
    };
    let status = answer.status();
    if let Some(session) = &session
        && status == reqwest::StatusCode::NOT_FOUND
        && upstream_id.is_some()
    {
        // The server forgot the session: so does the proxy, and the client starts anew.
        proxy
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, s| !Arc::ptr_eq(s, session));
    }
    let mut our_session = None;
    if let Some(session) = &session
        && initialize
        && status.is_success()
    {
        if let Some(id) = answer.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
            *session.upstream_id.lock().unwrap_or_else(|p| p.into_inner()) = Some(id.to_owned());
        }
        let ours = crate::approval::token::random_hex();
        if ours.is_empty() {
            return unavailable(&NoRandomness);
        }
        let (room, forgotten) = {
            let mut sessions = proxy.sessions.lock().unwrap_or_else(|p| p.into_inner());
            let (room, forgotten) = proxy.admit(&mut sessions);
            if room {
                sessions.insert(ours.clone(), session.clone());
            }
            (room, forgotten)
        };
        proxy.end_sessions(forgotten);
        if !room {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many open sessions; close some clients and try again",
            );
        }
        our_session = Some(ours);
    }
    let reply = reply_to(&proxy, &url, &headers, upstream_id);
    answer_client(&proxy, &name, pipeline, answer, our_session, reply).await
}

/// Posts a line to the server as the client would (in its session): how a server's request
/// for input that the firewall declined is answered.
fn reply_to(
    proxy: &Proxy,
    url: &str,
    headers: &HeaderMap,
    upstream_id: Option<String>,
) -> upstream::Reply {
    let (http, url, headers) = (proxy.http.clone(), url.to_owned(), headers.clone());
    Arc::new(move |line: Vec<u8>| {
        let (http, url, headers, upstream_id) =
            (http.clone(), url.clone(), headers.clone(), upstream_id.clone());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        runtime.spawn(async move {
            let sent = upstream::send(
                &http,
                Method::POST,
                &url,
                &headers,
                upstream_id.as_deref(),
                Some(Bytes::from(line)),
            )
            .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "a declined request for input could not be answered");
            }
        });
    })
}

/// Marks a held call withdrawn when its request is dropped (the client went away).
struct WithdrawOnDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for WithdrawOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The server's answer, screened, for the client.
async fn answer_client(
    proxy: &Proxy,
    name: &str,
    pipeline: Arc<Pipeline>,
    answer: reqwest::Response,
    our_session: Option<String>,
    reply: upstream::Reply,
) -> Response {
    let status = answer.status();
    let mut headers = upstream::response_headers(answer.headers());
    if let Some(challenge) = headers.get(header::WWW_AUTHENTICATE)
        && let Err(why) = upstream::check_challenge(challenge)
    {
        tracing::warn!(server = name, "{why}");
        return refuse(StatusCode::BAD_GATEWAY, &why.to_string());
    }
    if let Some(id) = our_session
        && let Ok(value) = HeaderValue::from_str(&id)
    {
        headers.insert(SESSION_HEADER, value);
    }
    let limit = proxy.limits.max_message_bytes;
    let mut response = match upstream::body_kind(answer.headers()) {
        BodyKind::Json => match upstream::read_limited(answer, limit).await {
            Ok(body) => match upstream::screen(&pipeline, &body, Some(&reply)) {
                Screened::Same => Response::new(Body::from(body)),
                Screened::Replaced(line) => Response::new(Body::from(line)),
                Screened::Dropped => return StatusCode::ACCEPTED.into_response(),
            },
            Err(e) => return refuse(StatusCode::BAD_GATEWAY, &crate::text::error_chain(&e)),
        },
        BodyKind::EventStream => {
            let Ok(permit) = proxy.streams.clone().try_acquire_owned() else {
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "too many open event streams");
            };
            let stream =
                upstream::screened_stream(pipeline, answer, limit, name.to_owned(), Some(reply));
            let stream = futures_util::StreamExt::map(stream, move |item| {
                let _held = &permit; // the permit lives as long as the stream
                item
            });
            Response::new(Body::from_stream(stream))
        }
        BodyKind::Other => match upstream::read_limited(answer, limit).await {
            Ok(body) => Response::new(Body::from(body)),
            Err(e) => return refuse(StatusCode::BAD_GATEWAY, &crate::text::error_chain(&e)),
        },
    };
    *response.status_mut() = status;
    response.headers_mut().extend(headers);
    response
}

async fn get_stream(
    proxy: Shared,
    url: String,
    headers: HeaderMap,
    session: Arc<HttpSession>,
) -> Response {
    let upstream_id = session.upstream_id.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match upstream::send(&proxy.http, Method::GET, &url, &headers, upstream_id.as_deref(), None)
        .await
    {
        Ok(answer) => {
            let name = session.upstream.clone();
            let reply = reply_to(&proxy, &url, &headers, upstream_id);
            answer_client(&proxy, &name, session.pipeline.clone(), answer, None, reply).await
        }
        Err(e) => refuse(StatusCode::BAD_GATEWAY, &format!("the server cannot be reached: {e}")),
    }
}

fn json_answer(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The server could not be reached: a request gets a JSON-RPC error naming it.
fn unreachable(name: &str, line: &[u8], error: &reqwest::Error) -> Response {
    let id = match crate::jsonrpc::decode(line) {
        Ok(crate::jsonrpc::Decoded::Single(message)) => message.id().cloned(),
        _ => None,
    };
    let reason = if error.is_connect() {
        format!("MCP Firewall cannot connect to the server {name:?}: is it running?")
    } else if error.is_timeout() {
        format!("the server {name:?} did not answer in time")
    } else {
        format!("the server {name:?} cannot be reached: {error}")
    };
    tracing::warn!(server = name, "{reason}");
    rpc_error(StatusCode::BAD_GATEWAY, id.as_ref(), ErrorCode::UpstreamUnreachable, &reason)
}

/// The firewall cannot decide (no history, no randomness): nothing is forwarded.
fn unavailable(error: &dyn std::error::Error) -> Response {
    let error = crate::text::error_chain(error);
    tracing::error!("the proxy cannot serve a request: {error}");
    rpc_error(
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        ErrorCode::Denied,
        &format!("MCP Firewall cannot inspect this request, so it was not sent: {error}"),
    )
}

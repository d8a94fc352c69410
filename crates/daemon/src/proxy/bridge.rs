//! `mcpfw wrap --url`: a stdio client (Claude Desktop, say) talking to an HTTP MCP server,
//! through the same pipeline as any other message.
//!
//! The client's lines are read in order on a thread of their own (as in the stdio shim) and
//! each allowed message is posted to the server; its answer — JSON or an event stream — is
//! screened message by message and written to stdout as it arrives. After `initialize` the
//! server's session id is kept and sent back, and the negotiated protocol version is named in
//! `MCP-Protocol-Version`; 2026-07-28 requests get their `Mcp-Method`/`Mcp-Name` headers from
//! the body. When the client closes stdin the session is ended with DELETE.

use std::io::{BufWriter, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Method};
use tokio::sync::mpsc;

use super::sse::Splitter;
use super::upstream::{self, BodyKind, SESSION_HEADER, Screened};
use crate::jsonrpc::{ErrorCode, Frame, LineReader, error_response};
use crate::pipeline::{Action, Pipeline, Settled};
use crate::session::Direction;

type Stdout = Arc<Mutex<BufWriter<std::fs::File>>>;

/// What the bridge learned of the server's session.
#[derive(Default)]
struct Conversation {
    session: Option<String>,
    protocol_version: Option<String>,
}

struct Bridge {
    http: reqwest::Client,
    url: String,
    pipeline: Arc<Pipeline>,
    stdout: Stdout,
    state: Mutex<Conversation>,
    limit: usize,
    /// The standalone GET stream was opened (once per session).
    listening: std::sync::atomic::AtomicBool,
    pipe: mcpfw_core::platform::PipeToClient,
}

/// Why the bridge cannot start.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The server's address is not allowed.
    #[error(transparent)]
    Upstream(#[from] super::registry::UpstreamUrlError),
    #[error("cannot start the bridge's runtime")]
    Runtime(#[source] std::io::Error),
    #[error("cannot use stdin and stdout")]
    Stdio(#[source] std::io::Error),
    #[error("cannot start the bridge's thread")]
    Thread(#[source] std::io::Error),
    #[error(transparent)]
    Client(#[from] crate::outbound::ClientError),
}

/// Relays between this process's stdin/stdout and the HTTP server at `url` until the client
/// closes stdin. Returns the exit code.
pub fn run(pipeline: Arc<Pipeline>, url: &str) -> Result<i32, BridgeError> {
    let checked = super::registry::check_upstream(url)?;
    if let Some(warning) = &checked.warning {
        tracing::warn!(server = pipeline.server(), "{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(BridgeError::Runtime)?;
    let (stdin, stdout) = mcpfw_core::platform::stdio_files().map_err(BridgeError::Stdio)?;
    let bridge = Arc::new(Bridge {
        http: {
            let _guard = runtime.enter();
            upstream::client()?
        },
        url: checked.url.to_string(),
        limit: pipeline.limits().max_message_bytes,
        pipeline,
        stdout: Arc::new(Mutex::new(BufWriter::new(stdout))),
        state: Mutex::new(Conversation::default()),
        listening: std::sync::atomic::AtomicBool::new(false),
        pipe: mcpfw_core::platform::PipeToClient::default(),
    });
    tracing::info!(server = bridge.pipeline.server(), url = %bridge.url, "bridging stdio to HTTP");

    // Allowed lines go to one task that posts them in the order they arrived.
    let (lines, mut queue) = mpsc::unbounded_channel::<Vec<u8>>();
    let reader = {
        let (bridge, lines) = (bridge.clone(), lines.clone());
        std::thread::Builder::new()
            .name("client-to-server".into())
            .spawn(move || {
                read_client(&bridge, stdin, &lines);
            })
            .map_err(BridgeError::Thread)?
    };
    drop(lines);
    runtime.block_on(async {
        let mut posts = tokio::task::JoinSet::new();
        while let Some(line) = queue.recv().await {
            let sent = bridge.post(line.clone());
            if is_request(&line) {
                // A request's answer is awaited on a task of its own, so a long call does not
                // hold up the next message.
                let bridge = bridge.clone();
                posts.spawn(async move { bridge.answer(line, sent.await).await });
            } else {
                // A notification or a response is accepted at once (202); waiting for that keeps
                // the order the server must see (`notifications/initialized` before the first
                // `tools/list`).
                bridge.clone().answer(line, sent.await).await;
            }
        }
        while posts.join_next().await.is_some() {}
        bridge.end_session().await;
    });
    let _ = reader.join();
    bridge.pipeline.withdraw_held();
    bridge.pipeline.flush();
    Ok(0)
}

use std::fs::File;

/// Whether a line is a JSON-RPC request (it has both a method and an id).
fn is_request(line: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Peek<'a> {
        #[serde(borrow)]
        method: Option<&'a serde_json::value::RawValue>,
        #[serde(borrow)]
        id: Option<&'a serde_json::value::RawValue>,
    }
    serde_json::from_slice::<Peek<'_>>(line).is_ok_and(|p| p.method.is_some() && p.id.is_some())
}

fn read_client(bridge: &Arc<Bridge>, stdin: File, lines: &mpsc::UnboundedSender<Vec<u8>>) {
    let mut reader = LineReader::new(stdin, bridge.limit);
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "reading from the client failed");
                break;
            }
        };
        match bridge.pipeline.process(Direction::ClientToServer, &frame) {
            Action::Forward => {
                if let Frame::Line(line) = frame {
                    let _ = lines.send(line.to_vec());
                }
            }
            Action::AnswerClient(answer) => bridge.write(&answer),
            Action::AnswerServer(line) => {
                let _ = lines.send(line);
            }
            Action::Drop => {}
            Action::Hold(held) => {
                let (bridge, lines) = (bridge.clone(), lines.clone());
                let spawned =
                    std::thread::Builder::new().name("approval".into()).spawn(move || {
                        let token = held.progress_token.clone();
                        let progress_bridge = bridge.clone();
                        let progress = move |waited: Duration| {
                            if let Some(token) = &token {
                                let line = crate::transport::waiting_progress(token, waited);
                                progress_bridge.write(&line);
                            }
                        };
                        match crate::transport::wait_for_person(&bridge.pipeline, *held, progress) {
                            Settled::Forward(line) | Settled::AnswerServer(line) => {
                                let _ = lines.send(line);
                            }
                            Settled::AnswerClient(answer) | Settled::ForwardToClient(answer) => {
                                bridge.write(&answer)
                            }
                            Settled::Nothing => {}
                        }
                    });
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start an approval thread");
                }
            }
        }
    }
}

impl Bridge {
    fn write(&self, line: &[u8]) {
        let mut out = self.stdout.lock().unwrap_or_else(|p| p.into_inner());
        self.pipe.before_write(out.get_ref(), line.len());
        let _ = out.write_all(line).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush());
    }

    fn headers(&self, line: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("accept", HeaderValue::from_static("application/json, text/event-stream"));
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(version) = state.protocol_version.as_deref()
            && let Ok(value) = HeaderValue::from_str(version)
        {
            headers.insert("mcp-protocol-version", value);
        }
        drop(state);
        if let Ok(peek) = serde_json::from_slice::<serde_json::Value>(line) {
            if let Some(method) = peek["method"].as_str()
                && let Ok(value) = HeaderValue::from_str(method)
            {
                headers.insert("mcp-method", value);
            }
            let name = peek["params"]["name"].as_str().or(peek["params"]["uri"].as_str());
            if let Some(name) = name
                && let Ok(value) = HeaderValue::from_str(name)
            {
                headers.insert("mcp-name", value);
            }
        }
        headers
    }

    /// Starts posting `line`; the returned future resolves to the server's answer.
    fn post(
        &self,
        line: Vec<u8>,
    ) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static
    {
        let headers = self.headers(&line);
        let session = self.state.lock().unwrap_or_else(|p| p.into_inner()).session.clone();
        let (http, url) = (self.http.clone(), self.url.clone());
        async move {
            upstream::send(
                &http,
                Method::POST,
                &url,
                &headers,
                session.as_deref(),
                Some(line.into()),
            )
            .await
        }
    }

    /// Handles the server's answer to `line`.
    async fn answer(self: Arc<Self>, line: Vec<u8>, answer: reqwest::Result<reqwest::Response>) {
        let id = match crate::jsonrpc::decode(&line) {
            Ok(crate::jsonrpc::Decoded::Single(message)) => message.id().cloned(),
            _ => None,
        };
        let initialize = serde_json::from_slice::<serde_json::Value>(&line)
            .is_ok_and(|v| v["method"] == "initialize");
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                if let Some(id) = &id {
                    let reason = format!(
                        "MCP Firewall cannot reach the server {:?} at {}: {e}",
                        self.pipeline.server(),
                        self.url
                    );
                    tracing::warn!("{reason}");
                    self.write(&error_response(Some(id), ErrorCode::UpstreamUnreachable, &reason));
                }
                return;
            }
        };
        let status = answer.status();
        if initialize
            && status.is_success()
            && let Some(session) =
                answer.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok())
        {
            self.state.lock().unwrap_or_else(|p| p.into_inner()).session = Some(session.to_owned());
        }
        let kind = upstream::body_kind(answer.headers());
        match kind {
            BodyKind::Json => match upstream::read_limited(answer, self.limit).await {
                Ok(body) => {
                    if initialize {
                        self.learn_version(&body);
                    }
                    self.deliver(&body);
                }
                Err(e) => self.fail(id.as_ref(), &crate::text::error_chain(&e)),
            },
            BodyKind::EventStream => {
                self.clone().relay_stream(answer, initialize).await;
            }
            BodyKind::Other if status.is_success() => {} // 202 for a notification or response
            BodyKind::Other => {
                let body = upstream::read_limited(answer, 64 * 1024).await.unwrap_or_default();
                let text = String::from_utf8_lossy(&body);
                let reason = format!(
                    "the server {:?} answered HTTP {status}{}{}",
                    self.pipeline.server(),
                    if text.trim().is_empty() { "" } else { ": " },
                    text.trim().chars().take(300).collect::<String>()
                );
                self.fail(id.as_ref(), &reason);
            }
        }
        if initialize && status.is_success() {
            self.clone().listen();
        }
    }

    fn fail(&self, id: Option<&crate::jsonrpc::Id>, reason: &str) {
        tracing::warn!(server = self.pipeline.server(), "{reason}");
        if let Some(id) = id {
            self.write(&error_response(Some(id), ErrorCode::UpstreamUnreachable, reason));
        }
    }

    fn learn_version(&self, body: &[u8]) {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
            && let Some(version) = value["result"]["protocolVersion"].as_str()
        {
            self.state.lock().unwrap_or_else(|p| p.into_inner()).protocol_version =
                Some(version.to_owned());
        }
    }

    /// One message from the server, screened, to the client.
    fn deliver(self: &Arc<Self>, message: &[u8]) {
        let bridge = self.clone();
        let reply: upstream::Reply = Arc::new(move |line: Vec<u8>| {
            let post = bridge.post(line);
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(e) = post.await {
                        tracing::warn!(error = %e, "a declined request for input could not be answered");
                    }
                });
            }
        });
        match upstream::screen(&self.pipeline, message, Some(&reply)) {
            Screened::Same => self.write(message.trim_ascii()),
            Screened::Replaced(line) => self.write(&line),
            Screened::Dropped => {}
        }
    }

    async fn relay_stream(self: Arc<Self>, answer: reqwest::Response, initialize: bool) {
        use futures_util::StreamExt;
        let mut splitter = Splitter::new(self.limit);
        let mut stream = answer.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { break };
            match splitter.push(&chunk) {
                Ok(events) => {
                    for event in events {
                        if let Some(data) = event.data.as_deref()
                            && !data.iter().all(u8::is_ascii_whitespace)
                        {
                            if initialize {
                                self.learn_version(data);
                            }
                            self.deliver(data);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(server = self.pipeline.server(), "{e}; the stream was ended");
                    break;
                }
            }
        }
    }

    /// Opens the server's standalone stream (server-initiated messages), once per session;
    /// a server without one answers 405, which is fine.
    fn listen(self: Arc<Self>) {
        if self.listening.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        tokio::spawn(async move {
            let mut headers = self.headers(b"");
            headers.insert("accept", HeaderValue::from_static("text/event-stream"));
            headers.remove("content-type");
            let session = self.state.lock().unwrap_or_else(|p| p.into_inner()).session.clone();
            if session.is_none() {
                return;
            }
            let sent = upstream::send(
                &self.http,
                Method::GET,
                &self.url,
                &headers,
                session.as_deref(),
                None,
            )
            .await;
            if let Ok(answer) = sent
                && answer.status().is_success()
                && upstream::body_kind(answer.headers()) == BodyKind::EventStream
            {
                self.clone().relay_stream(answer, false).await;
            }
        });
    }

    async fn end_session(&self) {
        let session = self.state.lock().unwrap_or_else(|p| p.into_inner()).session.take();
        if let Some(session) = session {
            let headers = self.headers(b"");
            let ended = upstream::send(
                &self.http,
                Method::DELETE,
                &self.url,
                &headers,
                Some(&session),
                None,
            );
            let _ = tokio::time::timeout(Duration::from_secs(2), ended).await;
        }
    }
}

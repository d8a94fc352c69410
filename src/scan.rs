//! `mcpfw scan`: asks a server what it offers (tools, prompts, resources, its
//! `instructions`) the way a client would, and audits that, offline — nothing is sent anywhere
//! but to the server itself, and no tool is ever called.
//!
//! A local server is started and spoken to over its stdio; a remote one is spoken to over
//! Streamable HTTP (`POST` of JSON-RPC, answers as JSON or as an event stream, the server's
//! `Mcp-Session-Id` kept and the session ended with `DELETE` afterwards), with the headers its
//! client configuration gives, under the proxy's URL rules (`https://`, or `http://` to this
//! machine), without following redirects.
//!
//! The findings are the detector's (the same checks `mcpfw wrap` applies to every list), and
//! each tool is compared with its pin in the history (read-only: scanning pins nothing).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use mcpfw_core::detect::Severity;
use mcpfw_core::finding::Finding;
use serde::Serialize;
use serde_json::{Value, json};

/// The protocol version `mcpfw scan` speaks to a server with the `initialize` handshake.
const PROTOCOL_VERSION: &str = "2025-11-25";
/// The stateless era, tried first with `server/discover`.
const STATELESS_VERSION: &str = "2026-07-28";
/// How long the `server/discover` probe waits before the handshake is tried instead.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How many pages of one list are read at most.
const MAX_PAGES: usize = 50;

/// A server to scan.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// Where it came from: a client's config file, or the command line.
    pub source: String,
    pub endpoint: Endpoint,
}

/// How a server is reached.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// Started as a child process, spoken to over its stdio.
    Command { command: Vec<String>, env: BTreeMap<String, String> },
    /// A Streamable HTTP endpoint, with the headers to send (e.g. `Authorization`).
    Remote { url: String, headers: Vec<(String, String)> },
    /// Known but not scanned, and why (e.g. the legacy HTTP+SSE transport).
    Unsupported { url: String, reason: String },
}

/// What a server offered, and what was found in it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub server: String,
    pub source: String,
    /// The address scanned, for a remote server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub server_info: Option<Value>,
    /// The protocol version spoken (`2026-07-28` for a stateless server).
    pub protocol: Option<String>,
    pub instructions: Option<String>,
    pub tools: Vec<Value>,
    pub prompts: Vec<Value>,
    pub resources: Vec<Value>,
    /// Each finding: `{"kind", "severity", "where", "evidence"}` and what its kind carries.
    pub findings: Vec<Finding>,
    /// Each tool's pin status: `new` (never pinned), `pinned` (matches), `changed`, `blocked`.
    pub pins: BTreeMap<String, String>,
    /// What a stdio server's command runs (`mcpfw_core::package::Identity`, with `pin`: the
    /// package pin's status), for a command only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<Value>,
    /// Why the server could not be scanned.
    pub error: Option<String>,
}

impl Report {
    pub fn new(target: &Target) -> Self {
        Report {
            server: target.name.clone(),
            source: target.source.clone(),
            url: match &target.endpoint {
                Endpoint::Command { .. } => None,
                Endpoint::Remote { url, .. } | Endpoint::Unsupported { url, .. } => {
                    Some(url.clone())
                }
            },
            server_info: None,
            protocol: None,
            instructions: None,
            tools: Vec::new(),
            prompts: Vec::new(),
            resources: Vec::new(),
            findings: Vec::new(),
            pins: BTreeMap::new(),
            package: None,
            error: None,
        }
    }

    /// Whether anything needs the user's attention.
    pub fn flagged(&self) -> bool {
        self.findings.iter().any(|f| f.severity != Some(Severity::Info))
            || self.pins.values().any(|s| s == "changed" || s == "blocked")
    }
}

/// Starts `target` (or connects to it), lists what it offers, and stops it. Never fails: a
/// server that cannot be scanned gets a report with `error` set.
pub fn scan(target: &Target, timeout: Duration) -> Report {
    let mut report = Report::new(target);
    let deadline = Instant::now() + timeout;
    let listed = match &target.endpoint {
        Endpoint::Command { command, env } => scan_command(command, env, deadline, &mut report),
        Endpoint::Remote { url, headers } => Http::connect(url, headers).and_then(|mut http| {
            let listed = list_everything(&mut http, deadline, &mut report);
            http.close();
            listed
        }),
        Endpoint::Unsupported { reason, .. } => Err(anyhow!("{reason}")),
    };
    if let Err(e) = listed {
        report.error = Some(format!("{e:#}"));
    }
    report
}

fn scan_command(
    command: &[String],
    env: &BTreeMap<String, String>,
    deadline: Instant,
    report: &mut Report,
) -> Result<()> {
    let Some((program, args)) = command.split_first() else {
        bail!("the server has no command");
    };
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let resolved = crate::launch::resolve(
        &std::iter::once(program.into()).chain(args.iter().map(Into::into)).collect::<Vec<_>>(),
        std::env::var_os("PATH").as_deref(),
        home.as_deref(),
    )?;
    let mut command = Command::new(&resolved.program);
    command
        .args(&resolved.args)
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // The firewall's own settings are not the server's business.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("MCPFW_") {
            command.env_remove(&key);
        }
    }
    let mut child = Killed(
        command.spawn().with_context(|| format!("cannot start {}", resolved.program.display()))?,
    );
    let mut client = Client::new(&mut child.0)?;
    list_everything(&mut client, deadline, report)
}

/// One request at a time to a server, whatever carries it.
trait Rpc {
    /// Sends a request and waits for its result (an error answer is an `Err`).
    fn request(&mut self, method: &str, params: Value, deadline: Instant) -> Result<Value>;
    fn notify(&mut self, method: &str, params: Value, deadline: Instant) -> Result<()>;
    /// Speak the stateless era `version` (HTTP requests then carry its headers).
    fn stateless(&mut self, _version: &str) {}
    /// Speak the handshake era after all (forgetting what the probe may have set).
    fn handshake(&mut self) {}
}

/// What a stateless-era request carries in `_meta` instead of a handshake.
fn stateless_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "mcpfw-scan", "version": crate::VERSION},
    })
}

/// The era first (a 2026-07-28 server answers `server/discover`; an older one refuses it or
/// stays silent, and gets the `initialize` handshake), then every list the server's
/// capabilities announce.
fn list_everything(client: &mut dyn Rpc, deadline: Instant, report: &mut Report) -> Result<()> {
    let probe_deadline = deadline.min(Instant::now() + PROBE_TIMEOUT);
    let (capabilities, meta) = match discover(client, probe_deadline, report) {
        Some(capabilities) => (capabilities, Some(stateless_meta())),
        None => match handshake(client, deadline, report) {
            Ok(capabilities) => (capabilities, None),
            // A server slow to start (a launcher fetching its package, a loaded machine) may
            // have missed the probe's window and then refuse the handshake for being of the
            // stateless era: it is asked again, with the whole time left.
            Err(refused) => match discover(client, deadline, report) {
                Some(capabilities) => (capabilities, Some(stateless_meta())),
                None => return Err(refused),
            },
        },
    };
    let meta = meta.as_ref();
    report.tools = list(client, "tools/list", "tools", meta, deadline)?;
    if capabilities.get("prompts").is_some() {
        report.prompts =
            list(client, "prompts/list", "prompts", meta, deadline).unwrap_or_default();
    }
    if capabilities.get("resources").is_some() {
        report.resources =
            list(client, "resources/list", "resources", meta, deadline).unwrap_or_default();
    }
    Ok(())
}

/// `server/discover` in the stateless era: the server's capabilities, when it speaks it.
fn discover(client: &mut dyn Rpc, deadline: Instant, report: &mut Report) -> Option<Value> {
    client.stateless(STATELESS_VERSION);
    let found = client
        .request("server/discover", json!({"_meta": stateless_meta()}), deadline)
        .ok()
        .filter(|found| {
            found["supportedVersions"]
                .as_array()
                .is_some_and(|v| v.iter().any(|v| v == STATELESS_VERSION))
        })?;
    report.protocol = Some(STATELESS_VERSION.to_owned());
    report.server_info = found["_meta"].get("io.modelcontextprotocol/serverInfo").cloned();
    report.instructions = found.get("instructions").and_then(Value::as_str).map(str::to_owned);
    Some(found.get("capabilities").cloned().unwrap_or(Value::Null))
}

/// The `initialize` handshake of the earlier eras: the server's capabilities.
fn handshake(client: &mut dyn Rpc, deadline: Instant, report: &mut Report) -> Result<Value> {
    client.handshake();
    let init = client.request(
        "initialize",
        json!({"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
               "clientInfo": {"name": "mcpfw-scan", "version": crate::VERSION}}),
        deadline,
    )?;
    client.notify("notifications/initialized", json!({}), deadline)?;
    report.protocol = init.get("protocolVersion").and_then(Value::as_str).map(str::to_owned);
    report.server_info = init.get("serverInfo").cloned();
    report.instructions = init.get("instructions").and_then(Value::as_str).map(str::to_owned);
    Ok(init.get("capabilities").cloned().unwrap_or(Value::Null))
}

/// Every item of a paginated list (each request with `meta` as its `_meta`, if given).
fn list(
    client: &mut dyn Rpc,
    method: &str,
    key: &str,
    meta: Option<&Value>,
    deadline: Instant,
) -> Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut cursor: Option<Value> = None;
    for _ in 0..MAX_PAGES {
        let mut params = cursor.take().map_or_else(|| json!({}), |c| json!({"cursor": c}));
        if let Some(meta) = meta {
            params["_meta"] = meta.clone();
        }
        let result = client.request(method, params, deadline)?;
        if let Some(page) = result.get(key).and_then(Value::as_array) {
            items.extend(page.iter().cloned());
        }
        match result.get("nextCursor") {
            Some(next) if !next.is_null() => cursor = Some(next.clone()),
            _ => break,
        }
    }
    Ok(items)
}

/// The answer to a request the server sends us: `ping` and `roots/list` (no roots) are
/// answered, anything else refused, so that the server never waits on us.
fn answer_server(message: &Value) -> Option<Value> {
    let method = message.get("method").and_then(Value::as_str)?;
    let id = message.get("id")?;
    Some(match method {
        "ping" => json!({"jsonrpc": "2.0", "id": id, "result": {}}),
        "roots/list" => json!({"jsonrpc": "2.0", "id": id, "result": {"roots": []}}),
        _ => json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601,
                    "message": "mcpfw scan answers no requests"}}),
    })
}

/// The result of the answer `message` to `method`.
fn result_of(message: &Value, method: &str) -> Result<Value> {
    if let Some(error) = message.get("error") {
        return Err(anyhow!("the server refused {method}: {error}"));
    }
    Ok(message.get("result").cloned().unwrap_or(Value::Null))
}

/// A child process that is killed when dropped (after its stdin is closed).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A minimal MCP client over a child's stdio: requests one at a time, answering the server's
/// own requests (`ping`, `roots/list`) so that it does not wait on us.
struct Client {
    stdin: ChildStdin,
    lines: mpsc::Receiver<Vec<u8>>,
    next_id: i64,
}

impl Client {
    fn new(child: &mut Child) -> Result<Self> {
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Client { stdin, lines, next_id: 1 })
    }

    fn send(&mut self, message: &Value) -> Result<()> {
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        self.stdin.write_all(&line).context("the server closed its input")?;
        self.stdin.flush().context("the server closed its input")
    }
}

impl Rpc for Client {
    fn notify(&mut self, method: &str, params: Value, _: Instant) -> Result<()> {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
    }

    fn request(&mut self, method: &str, params: Value, deadline: Instant) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    bail!("the server did not answer {method} in time")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    bail!("the server exited before answering {method}")
                }
            };
            let Ok(message) = serde_json::from_slice::<Value>(&line) else {
                continue; // not a message (servers sometimes log to stdout)
            };
            if message.get("method").is_some() {
                if let Some(answer) = answer_server(&message) {
                    self.send(&answer)?;
                }
                continue;
            }
            if message.get("id") != Some(&json!(id)) {
                continue;
            }
            return result_of(&message, method);
        }
    }
}

/// The largest answer read from a remote server.
const MAX_ANSWER: usize = 16 << 20;

/// A minimal Streamable HTTP client: one `POST` per message, on a runtime of its own.
struct Http {
    runtime: tokio::runtime::Runtime,
    conn: Connection,
}

/// What the requests of one scan share.
struct Connection {
    http: reqwest::Client,
    url: String,
    headers: reqwest::header::HeaderMap,
    /// The server's `Mcp-Session-Id`, once it gave one.
    session: Option<String>,
    /// `MCP-Protocol-Version` after the handshake (or the era's probe).
    protocol: Option<String>,
    /// A 2026-07-28 server: each POST names its method in `Mcp-Method`.
    stateless: bool,
    next_id: i64,
}

impl Http {
    /// Checks `url` as the proxy checks an upstream and prepares the headers.
    fn connect(url: &str, headers: &[(String, String)]) -> Result<Self> {
        let checked = crate::proxy::registry::check_upstream(url)?;
        if let Some(warning) = checked.warning {
            bail!("not scanned: {warning}");
        }
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            let name = reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())
                .with_context(|| format!("{name:?} is not a header name"))?;
            // Set by the scanner itself.
            if matches!(
                name.as_str(),
                "host"
                    | "content-type"
                    | "content-length"
                    | "accept"
                    | "mcp-session-id"
                    | "mcp-protocol-version"
            ) {
                continue;
            }
            let value = reqwest::header::HeaderValue::from_str(value.trim())
                .with_context(|| format!("the value of header {name} is not valid"))?;
            map.append(name, value);
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let http = crate::proxy::upstream::client()?;
        Ok(Http {
            runtime,
            conn: Connection {
                http,
                url: checked.url.to_string(),
                headers: map,
                session: None,
                protocol: None,
                stateless: false,
                next_id: 1,
            },
        })
    }

    /// Ends the server's session, if it gave one (best effort, briefly).
    fn close(&mut self) {
        let Some(session) = self.conn.session.clone() else { return };
        let request = self
            .conn
            .http
            .delete(&self.conn.url)
            .headers(self.conn.headers.clone())
            .header(crate::proxy::upstream::SESSION_HEADER, session);
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(2), request.send()).await });
    }

    fn exchange(
        &mut self,
        message: Value,
        method: &str,
        deadline: Instant,
    ) -> Result<Option<Value>> {
        let left = deadline.saturating_duration_since(Instant::now());
        let conn = &mut self.conn;
        // The timer is made inside the runtime, which it needs.
        let answer = async { tokio::time::timeout(left, conn.post(message, method)).await };
        match self.runtime.block_on(answer) {
            Ok(answer) => answer,
            Err(_) => bail!("the server did not answer {method} in time"),
        }
    }
}

impl Rpc for Http {
    fn request(&mut self, method: &str, params: Value, deadline: Instant) -> Result<Value> {
        let id = self.conn.next_id;
        self.conn.next_id += 1;
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let answer = self
            .exchange(message, method, deadline)?
            .with_context(|| format!("the server sent no answer to {method}"))?;
        let result = result_of(&answer, method)?;
        if method == "initialize" {
            self.conn.protocol = result
                .get("protocolVersion")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| Some(PROTOCOL_VERSION.to_owned()));
        }
        Ok(result)
    }

    fn notify(&mut self, method: &str, params: Value, deadline: Instant) -> Result<()> {
        let message = json!({"jsonrpc": "2.0", "method": method, "params": params});
        self.exchange(message, method, deadline).map(|_| ())
    }

    fn stateless(&mut self, version: &str) {
        self.conn.protocol = Some(version.to_owned());
        self.conn.stateless = true;
    }

    fn handshake(&mut self) {
        self.conn.protocol = None;
        self.conn.stateless = false;
        // A session the server opened for the probe is not the handshake's.
        self.conn.session = None;
    }
}

impl Connection {
    fn request(&self, body: Vec<u8>, method: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .post(&self.url)
            .headers(self.headers.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json, text/event-stream");
        if let Some(session) = &self.session {
            request = request.header(crate::proxy::upstream::SESSION_HEADER, session);
        }
        if let Some(version) = &self.protocol {
            request = request.header("mcp-protocol-version", version);
        }
        if self.stateless {
            // Lists name nothing, so `Mcp-Name` is not sent.
            request = request.header("mcp-method", method);
        }
        request.body(body)
    }

    /// Posts one message; for a request, returns the answer with its id (read from a JSON
    /// body or from the event stream, answering what the server asks meanwhile).
    async fn post(&mut self, message: Value, method: &str) -> Result<Option<Value>> {
        use crate::proxy::upstream::{BodyKind, SESSION_HEADER, body_kind, read_limited};
        let id = message.get("id").cloned();
        let response = self
            .request(serde_json::to_vec(&message)?, method)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.url))?;
        if let Some(session) = response.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok())
        {
            self.session = Some(session.to_owned());
        }
        let status = response.status();
        if !status.is_success() {
            let hint = match status.as_u16() {
                401 | 403 => {
                    " (it wants authorization: give the header in the client's configuration, or with --header)"
                }
                301 | 302 | 303 | 307 | 308 => " (a redirect, which is not followed)",
                _ => "",
            };
            let body = read_limited(response, 64 << 10).await.unwrap_or_default();
            let body = String::from_utf8_lossy(&body);
            bail!(
                "the server answered {method} with HTTP {status}{hint}: {}",
                crate::text::floor(body.trim(), 200)
            );
        }
        let Some(id) = id else { return Ok(None) };
        match body_kind(response.headers()) {
            BodyKind::Json => {
                let body = read_limited(response, MAX_ANSWER).await?;
                let value: Value = serde_json::from_slice(&body)
                    .with_context(|| format!("the server's answer to {method} is not JSON"))?;
                let answers = match value {
                    Value::Array(batch) => batch,
                    one => vec![one],
                };
                Ok(answers
                    .into_iter()
                    .find(|m| m.get("id") == Some(&id) && m.get("method").is_none()))
            }
            BodyKind::EventStream => self.read_stream(response, &id, method).await.map(Some),
            BodyKind::Other => bail!(
                "the server answered {method} with {:?}, neither JSON nor an event stream",
                response.headers().get(reqwest::header::CONTENT_TYPE)
            ),
        }
    }

    /// Reads events until the answer with `id`.
    async fn read_stream(
        &self,
        response: reqwest::Response,
        id: &Value,
        method: &str,
    ) -> Result<Value> {
        use futures_util::StreamExt;
        let mut splitter = crate::proxy::sse::Splitter::new(MAX_ANSWER);
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.with_context(|| format!("the server's answer to {method} broke off"))?;
            for event in splitter.push(&chunk)? {
                let Some(data) = event.data else { continue };
                let Ok(message) = serde_json::from_slice::<Value>(&data) else { continue };
                if message.get("method").is_some() {
                    // The server asks something while it answers: reply at once, on the side.
                    if let Some(answer) = answer_server(&message) {
                        let asked = message["method"].as_str().unwrap_or_default();
                        let reply = self.request(serde_json::to_vec(&answer)?, asked);
                        tokio::spawn(async move {
                            let _ = reply.send().await;
                        });
                    }
                    continue;
                }
                if message.get("id") == Some(id) {
                    return Ok(message);
                }
            }
        }
        bail!("the server's event stream ended without an answer to {method}")
    }
}

//! `mcpfw scan`: starts a server the way a client would, asks it what it offers (tools,
//! prompts, resources, its `instructions`) and audits that, offline — nothing is sent anywhere
//! but to the server's own stdin, and no tool is ever called.
//!
//! The findings are the detector's (the same checks `mcpfw wrap` applies to every list), and
//! each tool is compared with its pin in the history (read-only: scanning pins nothing).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use serde_json::{Value, json};

/// The protocol version `mcpfw scan` speaks.
const PROTOCOL_VERSION: &str = "2025-11-25";
/// How many pages of one list are read at most.
const MAX_PAGES: usize = 50;

/// A server to scan.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// Where it came from: a client's config file, or the command line.
    pub source: String,
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
}

/// What a server offered, and what was found in it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub server: String,
    pub source: String,
    pub server_info: Option<Value>,
    pub instructions: Option<String>,
    pub tools: Vec<Value>,
    pub prompts: Vec<Value>,
    pub resources: Vec<Value>,
    /// Each finding: `{"kind", "severity", "where", "evidence"}`.
    pub findings: Vec<Value>,
    /// Each tool's pin status: `new` (never pinned), `pinned` (matches), `changed`, `blocked`.
    pub pins: BTreeMap<String, String>,
    /// Why the server could not be scanned.
    pub error: Option<String>,
}

impl Report {
    fn new(target: &Target) -> Self {
        Report {
            server: target.name.clone(),
            source: target.source.clone(),
            server_info: None,
            instructions: None,
            tools: Vec::new(),
            prompts: Vec::new(),
            resources: Vec::new(),
            findings: Vec::new(),
            pins: BTreeMap::new(),
            error: None,
        }
    }

    /// Whether anything needs the user's attention.
    pub fn flagged(&self) -> bool {
        !self.findings.is_empty() || self.pins.values().any(|s| s == "changed" || s == "blocked")
    }
}

/// Starts `target`, lists what it offers, and stops it. Never fails: a server that cannot be
/// scanned gets a report with `error` set.
pub fn scan(target: &Target, timeout: Duration) -> Report {
    let mut report = Report::new(target);
    if let Err(e) = list_everything(target, timeout, &mut report) {
        report.error = Some(format!("{e:#}"));
    }
    report
}

fn list_everything(target: &Target, timeout: Duration, report: &mut Report) -> Result<()> {
    let Some((program, args)) = target.command.split_first() else {
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
        .envs(&target.env)
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
    let deadline = Instant::now() + timeout;
    let init = client.request(
        "initialize",
        json!({"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
               "clientInfo": {"name": "mcpfw-scan", "version": crate::VERSION}}),
        deadline,
    )?;
    client.notify("notifications/initialized", json!({}))?;
    report.server_info = init.get("serverInfo").cloned();
    report.instructions = init.get("instructions").and_then(Value::as_str).map(str::to_owned);
    let capabilities = init.get("capabilities").cloned().unwrap_or(Value::Null);
    report.tools = client.list("tools/list", "tools", deadline)?;
    if capabilities.get("prompts").is_some() {
        report.prompts = client.list("prompts/list", "prompts", deadline).unwrap_or_default();
    }
    if capabilities.get("resources").is_some() {
        report.resources = client.list("resources/list", "resources", deadline).unwrap_or_default();
    }
    Ok(())
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

    fn notify(&mut self, method: &str, params: Value) -> Result<()> {
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
            if let Some(request_method) = message.get("method").and_then(Value::as_str) {
                if let Some(their_id) = message.get("id") {
                    let answer = match request_method {
                        "ping" => json!({"jsonrpc": "2.0", "id": their_id, "result": {}}),
                        "roots/list" => {
                            json!({"jsonrpc": "2.0", "id": their_id, "result": {"roots": []}})
                        }
                        _ => {
                            json!({"jsonrpc": "2.0", "id": their_id, "error": {"code": -32601, "message": "mcpfw scan answers no requests"}})
                        }
                    };
                    self.send(&answer)?;
                }
                continue;
            }
            if message.get("id") != Some(&json!(id)) {
                continue;
            }
            if let Some(error) = message.get("error") {
                return Err(anyhow!("the server refused {method}: {error}"));
            }
            return Ok(message.get("result").cloned().unwrap_or(Value::Null));
        }
    }

    /// Every item of a paginated list.
    fn list(&mut self, method: &str, key: &str, deadline: Instant) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut cursor: Option<Value> = None;
        for _ in 0..MAX_PAGES {
            let params = cursor.take().map_or_else(|| json!({}), |c| json!({"cursor": c}));
            let result = self.request(method, params, deadline)?;
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
}

//! `cargo bench --bench approval`: how soon a person hears of a call that needs them.
//!
//! Measured from the moment a `tools/call` is written to `mcpfw wrap`'s stdin to the moment the
//! matching `pending` event arrives on the daemon's server-sent event stream (what the dashboard
//! and approval popups listen to). That path holds the whole ask: decode, classify and decide,
//! the durable record of the ask, the shim's connection to the daemon, the broker and the event
//! bus. Target: p99 ≤ 50 ms. Each call is then refused through the HTTP API, and the refusal
//! must reach the client before the next call, so every sample starts from a quiet system.
//!
//! The server behind the shim is this binary, re-executed with `APPROVAL_BENCH_ROLE=server`; a
//! rule in the bench's own `MCPFW_HOME` makes its one tool ask.
//!
//! Environment: `MCPFW_BENCH_QUICK=1` (fewer samples), `MCPFW_BENCH_ENFORCE=1` (exit 1 above
//! target × `MCPFW_BENCH_SLACK`). The report is printed and written to
//! `$CARGO_TARGET_DIR/mcpfw-bench-approval.md`.

use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ROLE_ENV: &str = "APPROVAL_BENCH_ROLE";
const TARGET_P99: Duration = Duration::from_millis(50);

fn main() {
    if std::env::var_os(ROLE_ENV).as_deref() == Some(OsStr::new("server")) {
        server();
        return;
    }
    let flag = |name| std::env::var(name).is_ok_and(|v| v == "1" || v == "true");
    let samples = if flag("MCPFW_BENCH_QUICK") { 60 } else { 400 };
    let slack = std::env::var("MCPFW_BENCH_SLACK")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0);
    let home = tempfile::Builder::new().prefix("mcpfw-bench-approval-").tempdir().unwrap();
    let code = match run(home.path(), samples) {
        Ok(mut latencies) => report(&mut latencies, slack, flag("MCPFW_BENCH_ENFORCE")),
        Err(e) => {
            eprintln!("approval bench failed: {e}");
            1
        }
    };
    drop(home);
    std::process::exit(code);
}

/// A minimal stdio MCP server with one tool.
fn server() {
    let stdin = io::stdin();
    let mut out = io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        let Ok(message) = serde_json::from_str::<Value>(&line) else { continue };
        let Some(id) = message.get("id") else { continue };
        let result = match message["method"].as_str() {
            Some("initialize") => {
                json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "bench", "version": "1"}})
            }
            Some("tools/list") => {
                json!({"tools": [{"name": "bench_ask", "inputSchema": {"type": "object"}}]})
            }
            _ => json!({"content": [{"type": "text", "text": "done"}]}),
        };
        let _ = writeln!(out, "{}", json!({"jsonrpc": "2.0", "id": id, "result": result}));
        let _ = out.flush();
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mcpfw(home: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcpfw"));
    cmd.env("MCPFW_HOME", home).env("MCPFW_KEYRING", "off").env("MCPFW_LOG", "warn");
    cmd
}

fn run(home: &std::path::Path, samples: usize) -> io::Result<Vec<Duration>> {
    std::fs::create_dir_all(home.join("config"))?;
    std::fs::write(
        home.join("config/policy.toml"),
        "[settings]\ninfer_roots = false\n\n[[rules]]\nid = \"bench\"\ntool = \"bench_ask\"\naction = \"ask\"\nreason = \"benchmark\"\n",
    )?;
    let _daemon = Killed(
        mcpfw(home)
            .args(["daemon", "--timeout", "60", "--no-notify"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let api = home.join("run/api.json");
    let deadline = Instant::now() + Duration::from_secs(20);
    let url = loop {
        if let Ok(text) = std::fs::read_to_string(&api)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
            && let Some(url) = v["url"].as_str()
        {
            break url.to_owned();
        }
        if Instant::now() > deadline {
            return Err(io::Error::other("the daemon did not start"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let addr = url.trim_start_matches("http://").to_owned();
    let token = std::fs::read_to_string(home.join("config/approver.token"))?.trim().to_owned();

    let mut events = Sse::open(&addr, &token)?;
    let mut shim = mcpfw(home);
    shim.args(["wrap", "--name", "bench", "--"])
        .arg(std::env::current_exe()?)
        .env(ROLE_ENV, "server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = Killed(shim.spawn()?);
    let mut stdin = child.0.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    let send = |stdin: &mut ChildStdin, message: Value| -> io::Result<()> {
        writeln!(stdin, "{message}")?;
        stdin.flush()
    };
    let mut answer = |stdout: &mut BufReader<ChildStdout>, id: u64| -> io::Result<Value> {
        loop {
            line.clear();
            if stdout.read_line(&mut line)? == 0 {
                return Err(io::Error::other("the shim closed its output"));
            }
            let v: Value = serde_json::from_str(&line).map_err(io::Error::other)?;
            if v["id"] == id {
                return Ok(v);
            }
        }
    };
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}),
    )?;
    answer(&mut stdout, 0)?;
    send(&mut stdin, json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
    send(&mut stdin, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))?;
    answer(&mut stdout, 1)?;

    let mut latencies = Vec::with_capacity(samples);
    for n in 0..samples as u64 + 5 {
        let id = n + 10;
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "bench_ask", "arguments": {"n": n}}});
        let started = Instant::now();
        send(&mut stdin, call)?;
        let pending = events.next_pending()?;
        let elapsed = started.elapsed();
        if n >= 5 {
            latencies.push(elapsed); // the first few warm up connections and caches
        }
        decide(&addr, &token, pending)?;
        let refused = answer(&mut stdout, id)?;
        if refused["result"]["isError"] != true {
            return Err(io::Error::other(format!("the call was not refused: {refused}")));
        }
    }
    Ok(latencies)
}

/// The daemon's event stream, read line by line.
struct Sse(BufReader<TcpStream>);

impl Sse {
    fn open(addr: &str, token: &str) -> io::Result<Self> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        write!(
            stream,
            "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        )?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Self(BufReader::new(stream)))
    }

    /// The id of the next call that starts waiting.
    fn next_pending(&mut self) -> io::Result<u64> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.0.read_line(&mut line)? == 0 {
                return Err(io::Error::other("the event stream ended"));
            }
            if let Some(data) = line.trim_end().strip_prefix("data:")
                && let Ok(v) = serde_json::from_str::<Value>(data.trim())
                && v["event"] == "pending"
                && let Some(id) = v["call"]["id"].as_u64()
            {
                return Ok(id);
            }
        }
    }
}

fn decide(addr: &str, token: &str, id: u64) -> io::Result<()> {
    let body = r#"{"allow":false}"#;
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "POST /api/v1/pending/{id}/decide HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    if !response.starts_with("HTTP/1.1 200") {
        return Err(io::Error::other(format!("decide failed: {response}")));
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn report(latencies: &mut [Duration], slack: f64, enforce: bool) -> i32 {
    latencies.sort_unstable();
    let (p50, p99, max) =
        (percentile(latencies, 0.5), percentile(latencies, 0.99), latencies[latencies.len() - 1]);
    let limit = TARGET_P99.mul_f64(slack);
    let ok = p99 <= limit;
    let text = format!(
        "# Approval latency\n\nFrom a `tools/call` written to `mcpfw wrap` to its `pending` event on the \
         daemon's SSE stream, {} calls.\n\n| p50 | p99 | max | target p99 |\n|---|---|---|---|\n| {:.1} ms | {:.1} ms | {:.1} ms | ≤ {} ms{} |\n\n{}\n",
        latencies.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        TARGET_P99.as_millis(),
        if slack == 1.0 {
            String::new()
        } else {
            format!(" (×{slack} slack: {} ms)", limit.as_millis())
        },
        if ok { "within target" } else { "OVER TARGET" }
    );
    println!("{text}");
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let _ = std::fs::write(target_dir.join("mcpfw-bench-approval.md"), &text);
    if enforce && !ok { 1 } else { 0 }
}

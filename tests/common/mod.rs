//! Shared helpers for the integration tests: locating the real peers, running `mcpfw wrap`,
//! talking raw JSON-RPC to it, and reading what it recorded.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const SETUP_HINT: &str = "the test peers are missing: run `scripts/test` (it installs them) \
     or `npm ci --prefix tests/peers` and `python3 -m venv .venv && .venv/bin/pip install -r tests/peers/requirements.txt`";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn mcpfw() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mcpfw"))
}

/// The Python with the pinned `mcp` SDK (`MCPFW_TEST_PYTHON` overrides).
pub fn python() -> PathBuf {
    let path = std::env::var_os("MCPFW_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"));
    assert!(path.exists(), "{}: {SETUP_HINT}", path.display());
    path
}

/// A script in tests/support.
pub fn support(script: &str) -> PathBuf {
    repo().join("tests/support").join(script)
}

/// The command of a real npm server installed from tests/peers/package-lock.json.
pub fn npm_server(bin: &str) -> PathBuf {
    let path = repo().join("tests/peers/node_modules/.bin").join(bin);
    assert!(path.exists(), "{}: {SETUP_HINT}", path.display());
    path
}

pub fn everything() -> Vec<String> {
    vec![npm_server("mcp-server-everything").display().to_string(), "stdio".into()]
}

/// An isolated MCP Firewall home (`MCPFW_HOME`) for one test.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes this instance's `policy.toml`.
    pub fn policy(&self, text: &str) -> &Self {
        let dir = self.path().join("config");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("policy.toml"), text).unwrap();
        self
    }

    /// A home whose policy lets calls that need approval through: for tests of the relay
    /// itself, where no person is there to approve.
    pub fn permissive() -> Self {
        let home = Self::new();
        home.policy("[settings]\nunattended = \"allow\"\n");
        home
    }

    /// Every recorded event, oldest first, as `mcpfw log --json --all` prints them.
    pub fn events(&self) -> Vec<Value> {
        if !self.path().join("data/mcpfw.db").exists() {
            return Vec::new();
        }
        let out = Command::new(mcpfw())
            .args(["log", "--json", "--all", "--limit", "0"])
            .env("MCPFW_HOME", self.path())
            .env("MCPFW_KEYRING", "off")
            .output()
            .expect("run mcpfw log");
        assert!(out.status.success(), "mcpfw log: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .rev() // `mcpfw log` prints the newest first
            .collect()
    }

    /// The calls waiting for a decision, as `mcpfw pending --json` lists them.
    pub fn pending(&self) -> Vec<Value> {
        let out = Command::new(mcpfw())
            .args(["pending", "--json"])
            .env("MCPFW_HOME", self.path())
            .env("MCPFW_KEYRING", "off")
            .output()
            .expect("run mcpfw pending");
        assert!(out.status.success(), "mcpfw pending: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// Waits (up to `within`) until `pred` holds for the pending calls, and returns them.
    pub fn wait_pending(&self, within: Duration, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let pending = self.pending();
            if pred(&pending) {
                return pending;
            }
            assert!(Instant::now() < deadline, "timed out waiting for pending calls: {pending:#?}");
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Waits until `pred` holds for the recorded events (the log is written asynchronously).
    pub fn wait_events(&self, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let events = self.events();
            if pred(&events) {
                return events;
            }
            assert!(Instant::now() < deadline, "timed out waiting for events: {what}\n{events:#?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `mcpfw wrap` running a server, with the test acting as the MCP client over raw JSON-RPC.
pub struct Shim {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Vec<u8>>,
    stderr: Receiver<String>,
}

impl Shim {
    pub fn start(home: &Home, wrap_args: &[&str], server: &[String]) -> Self {
        let mut cmd = Command::new(mcpfw());
        cmd.arg("wrap").args(wrap_args).arg("--").args(server);
        Self::spawn(cmd, home)
    }

    pub fn spawn(mut cmd: Command, home: &Home) -> Self {
        cmd.env("MCPFW_HOME", home.path()).env("MCPFW_KEYRING", "off");
        Self::spawn_raw(cmd)
    }

    /// Starts `cmd` (an `mcpfw` command line with its environment already set).
    pub fn spawn_raw(mut cmd: Command) -> Self {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start mcpfw");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let (etx, stderr_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if etx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { stdin: child.stdin.take(), child, lines, stderr: stderr_rx }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(bytes).expect("write to mcpfw");
        stdin.flush().unwrap();
    }

    pub fn send(&mut self, message: &Value) {
        let mut line = serde_json::to_vec(message).unwrap();
        line.push(b'\n');
        self.send_raw(&line);
    }

    /// The next line from the shim, with its newline, or `None` on timeout/EOF.
    pub fn recv_raw(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Waits for the response with this id, skipping notifications and other traffic.
    pub fn response(&mut self, id: &Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Some(line) = self.recv_raw(left) else {
                break;
            };
            let v: Value = serde_json::from_slice(&line).unwrap_or_else(|e| {
                panic!("shim wrote non-JSON ({e}): {}", String::from_utf8_lossy(&line))
            });
            if v.get("id") == Some(id) && v.get("method").is_none() {
                return v;
            }
        }
        panic!("no response with id {id}; stderr: {}", self.stderr_text());
    }

    pub fn request(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.response(&json!(id))
    }

    /// The `initialize` handshake of protocol 2025-11-25.
    pub fn initialize(&mut self) -> Value {
        let result = self.request(
            0,
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "mcpfw-tests", "version": "1"}}),
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        result
    }

    pub fn call_tool(&mut self, id: i64, name: &str, arguments: Value) -> Value {
        self.request(id, "tools/call", json!({"name": name, "arguments": arguments}))
    }

    /// Closes the shim's stdin, as a client does when it disconnects.
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Shim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the Python SDK client (`tests/support/client.py`) with `scenario` against the server
/// command `chain` (which may start with `mcpfw wrap …`) and returns its report, failing the
/// test with the client's stderr when the scenario did not pass.
#[allow(dead_code)]
pub fn client_scenario(
    home: &Home,
    scenario: &str,
    extra: &[&str],
    chain: &[String],
    env: &[(&str, &std::ffi::OsStr)],
) -> Value {
    let mut cmd = Command::new(python());
    cmd.arg(support("client.py")).args(["--scenario", scenario]).args(extra).arg("--").args(chain);
    cmd.env("MCPFW_HOME", home.path()).env("MCPFW_KEYRING", "off");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("run client.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "client.py printed no report ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(
        report["ok"],
        true,
        "scenario failed: {report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

/// True while a process with this pid exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

/// The text of the first content item of a tool result.
pub fn tool_text(response: &Value) -> &str {
    response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {response}"))
}

/// A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits (up to 20 s) until something accepts connections on 127.0.0.1:`port`.
pub fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// `mcpfw daemon --timeout 60 --no-notify` for `home`, returned once its socket accepts
/// connections (up to 10 s); stopped when dropped.
pub fn socket_daemon(home: &Home) -> Background {
    let socket = home.path().join("run/mcpfw.sock");
    let _ = std::fs::remove_file(&socket);
    let mut command = Command::new(mcpfw());
    command
        .args(["daemon", "--timeout", "60", "--no-notify"])
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off");
    let daemon = Background::start(command);
    let deadline = Instant::now() + Duration::from_secs(10);
    while mcpfw::platform::channel::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    daemon
}

/// A background process (a server, a daemon) with its output discarded, in a process group of
/// its own; the whole group is stopped when this is dropped.
pub struct Background(pub Child);

impl Background {
    pub fn start(mut command: Command) -> Self {
        mcpfw::platform::ServerGroup::prepare(&mut command);
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}; {SETUP_HINT}"));
        Self(child)
    }

    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        mcpfw::platform::ServerGroup::adopt(&self.0).signal(mcpfw::platform::TERM);
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

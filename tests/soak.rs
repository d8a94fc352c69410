//! A bounded soak: many wrapped sessions at once against real servers (the npm
//! `server-everything` and the Python fault server), with random calls, approvals, refusals and
//! cancellations decided by a person-like approver through the daemon. Afterwards:
//!
//! - every call got at most one answer, and every call that was not cancelled exactly one;
//! - every call has exactly one recorded outcome in the history (its response, or its refusal);
//! - the history's hash chain verifies (`mcpfw log --verify`);
//! - the daemon holds no more file descriptors than after warming up, and its memory did not
//!   keep growing (less than 32 MiB more than midway); no shim's peak memory exceeded 96 MiB.
//!
//! It runs for `MCPFW_SOAK_SECONDS` (default 45) with `MCPFW_SOAK_SESSIONS` sessions (default 6).
// Unix suite: it uses Unix sockets, signals, file modes or symlinks directly (docs/platforms.md).
#![cfg(unix)]

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Home, Shim, mcpfw, npm_server, python, support};
use serde_json::{Value, json};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// xorshift: reproducible randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn run_mcpfw(home: &Home, args: &[&str]) -> std::process::Output {
    Command::new(mcpfw())
        .args(args)
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .output()
        .unwrap()
}

/// The daemon's open descriptors, by what they point at — except the history database's files:
/// its connection pool may open its second connection (bounded) only under load.
fn fd_targets(pid: u32) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|p| p.display().to_string())
                .filter(|p| !p.contains("/data/mcpfw.db"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn fd_count(pid: u32) -> usize {
    fd_targets(pid).len()
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One client session: a shim, and every answer it received, by request id.
struct Session {
    name: String,
    shim: Shim,
    answers: HashMap<i64, Vec<Value>>,
    cancelled: Vec<i64>,
    sent: Vec<i64>,
    next_id: i64,
}

impl Session {
    fn new(home: &Home, name: String, server: &[String]) -> Self {
        let mut shim = Shim::start(home, &["--name", &name], server);
        shim.initialize();
        Self {
            name,
            shim,
            answers: HashMap::new(),
            cancelled: Vec::new(),
            sent: Vec::new(),
            next_id: 1,
        }
    }

    fn send(&mut self, tool: &str, arguments: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.sent.push(id);
        self.shim.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                               "params": {"name": tool, "arguments": arguments}}));
        id
    }

    /// Reads answers until `id`'s arrives (or `timeout`), keeping every answer seen.
    fn wait(&mut self, id: i64, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(answer) = self.answers.get(&id).and_then(|a| a.first()) {
                return Some(answer.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.shim.recv_raw(left)?;
            let v: Value = serde_json::from_slice(&line).unwrap_or_else(|e| {
                panic!(
                    "{}: non-JSON from the shim ({e}): {}",
                    self.name,
                    String::from_utf8_lossy(&line)
                )
            });
            if v.get("method").is_none()
                && let Some(n) = v["id"].as_i64()
            {
                self.answers.entry(n).or_default().push(v);
            }
        }
    }
}

/// Approves two out of three waiting calls and denies the rest, until told to stop.
fn approver(home: Arc<Home>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        let (mut approved, mut denied) = (0, 0);
        let mut rng = Rng(0x5eed);
        while !stop.load(Ordering::Relaxed) {
            let out = run_mcpfw(&home, &["pending", "--json"]);
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let Ok(pending) = serde_json::from_str::<Value>(line) else { continue };
                let id = pending["id"].to_string();
                // A call may be settled meanwhile (cancelled, or timed out): that is fine.
                if rng.below(3) < 2 {
                    if run_mcpfw(&home, &["approve", &id]).status.success() {
                        approved += 1;
                    }
                } else if run_mcpfw(&home, &["deny", &id]).status.success() {
                    denied += 1;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (approved, denied)
    })
}

/// One session's random traffic until `until`.
fn traffic(mut session: Session, fault: bool, seed: u64, until: Instant) -> Session {
    let mut rng = Rng(seed | 1);
    while Instant::now() < until {
        match (fault, rng.below(10)) {
            // The everything server: allowed calls.
            (false, 0..=5) => {
                let id = session.send("echo", json!({"message": format!("soak {seed}")}));
                assert!(
                    session.wait(id, Duration::from_secs(30)).is_some(),
                    "{}: no answer to {id}",
                    session.name
                );
            }
            (false, _) => {
                let (a, b) = (rng.below(1000), rng.below(1000));
                let id = session.send("get-sum", json!({"a": a, "b": b}));
                assert!(
                    session.wait(id, Duration::from_secs(30)).is_some(),
                    "{}: no answer to {id}",
                    session.name
                );
            }
            // The fault server: a call that needs approval, waited for.
            (true, 0..=3) => {
                let id = session.send("echo", json!({"n": rng.below(1_000_000)}));
                assert!(
                    session.wait(id, Duration::from_secs(30)).is_some(),
                    "{}: no answer to {id}",
                    session.name
                );
            }
            // A call that needs approval, cancelled by the client after a moment.
            (true, 4..=5) => {
                let id = session.send("echo", json!({"cancel": rng.below(1_000_000)}));
                std::thread::sleep(Duration::from_millis(rng.below(400)));
                session.shim.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                          "params": {"requestId": id, "reason": "soak"}}));
                session.cancelled.push(id);
            }
            // A call the policy refuses outright.
            (true, 6) => {
                let id = session.send("forbidden", json!({}));
                let answer = session.wait(id, Duration::from_secs(30)).expect("a refusal");
                assert_eq!(answer["result"]["isError"], true, "{answer}");
            }
            // Plain allowed traffic.
            (true, _) => {
                let id = session.send("allowed", json!({}));
                assert!(
                    session.wait(id, Duration::from_secs(30)).is_some(),
                    "{}: no answer to {id}",
                    session.name
                );
            }
        }
    }
    session
}

#[test]
fn many_sessions_with_approvals_and_cancellations_lose_nothing() {
    let seconds = env_number("MCPFW_SOAK_SECONDS", 45);
    let sessions = env_number("MCPFW_SOAK_SESSIONS", 6);
    let home = Arc::new(Home::new());
    home.policy(
        "[settings]\nunattended = \"deny\"\n\
         [[rules]]\nserver = \"soak-fault-*\"\ntool = \"echo\"\naction = \"ask\"\n\
         [[rules]]\nserver = \"soak-fault-*\"\ntool = \"forbidden\"\naction = \"deny\"\n\
         [[rules]]\nserver = \"soak-fault-*\"\ntool = \"allowed\"\naction = \"allow\"\n\
         [[rules]]\nserver = \"soak-everything-*\"\ntool = \"*\"\naction = \"allow\"\n",
    );
    let socket = home.path().join("run/mcpfw.sock");
    let mut daemon: Child = Command::new(mcpfw())
        .args(["daemon", "--timeout", "10", "--no-notify"])
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let everything =
        vec![npm_server("mcp-server-everything").display().to_string(), "stdio".into()];
    let fault =
        vec![python().display().to_string(), support("fault_server.py").display().to_string()];

    let stop = Arc::new(AtomicBool::new(false));
    let approvals = approver(home.clone(), stop.clone());
    // Warm up: a session whose calls the approver decides, so that the daemon's connections,
    // history and caches exist before its descriptors and memory are first counted.
    let mut warmup = Session::new(&home, "soak-fault-warmup".into(), &fault);
    for n in 0..4 {
        let id = warmup.send("echo", json!({"warm": n}));
        assert!(warmup.wait(id, Duration::from_secs(30)).is_some(), "warm-up call {id} unanswered");
    }
    warmup.shim.close_stdin();
    assert!(warmup.shim.wait_exit(Duration::from_secs(15)).is_some());
    std::thread::sleep(Duration::from_millis(300));
    let warm = (daemon.id(), fd_count(daemon.id()), status_kib(daemon.id(), "VmRSS:"));
    let warm_fds = fd_targets(daemon.id());
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);

    let mut threads = Vec::new();
    for n in 0..sessions {
        let home = home.clone();
        let (everything, fault) = (everything.clone(), fault.clone());
        threads.push(std::thread::spawn(move || {
            let is_fault = n % 2 == 0;
            let (name, server) = if is_fault {
                (format!("soak-fault-{n}"), fault)
            } else {
                (format!("soak-everything-{n}"), everything)
            };
            let session = Session::new(&home, name, &server);
            traffic(session, is_fault, 0x9e37_79b9 * (n + 1), until)
        }));
    }
    // Midway, the daemon's memory and descriptors under load.
    std::thread::sleep(Duration::from_secs(seconds / 2));
    let mid_rss = status_kib(warm.0, "VmRSS:");
    let mut finished: Vec<Session> =
        threads.into_iter().map(|t| t.join().expect("a session failed")).collect();

    // Let late answers (to cancelled calls) arrive, then end the sessions.
    for s in &mut finished {
        s.wait(-1, Duration::from_millis(500));
    }
    let mut shim_peaks = Vec::new();
    for s in &mut finished {
        shim_peaks.push((s.name.clone(), status_kib(s.shim.child.id(), "VmHWM:")));
        s.shim.close_stdin();
        assert!(s.shim.wait_exit(Duration::from_secs(15)).is_some(), "{} did not end", s.name);
    }
    stop.store(true, Ordering::Relaxed);
    let (approved, denied) = approvals.join().unwrap();
    // Connections that just closed may take a moment to be released.
    let settle = Instant::now() + Duration::from_secs(3);
    while fd_count(warm.0) > warm.1 && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(50));
    }
    let end = (fd_count(warm.0), status_kib(warm.0, "VmRSS:"));
    let end_fds = fd_targets(warm.0);
    finished.push(warmup);
    let pending = run_mcpfw(&home, &["pending", "--json"]);
    assert!(String::from_utf8_lossy(&pending.stdout).trim().is_empty(), "calls left pending");
    let _ = daemon.kill();
    let _ = daemon.wait();

    // Every call: at most one answer; exactly one unless it was cancelled.
    let mut calls = 0;
    for s in &finished {
        for id in &s.sent {
            let n = s.answers.get(id).map_or(0, Vec::len);
            calls += 1;
            if s.cancelled.contains(id) {
                assert!(n <= 1, "{}: call {id} answered {n} times", s.name);
            } else {
                assert_eq!(n, 1, "{}: call {id} answered {n} times", s.name);
            }
        }
    }

    // Every call: exactly one recorded outcome — its response, or its refusal.
    let out = Command::new(mcpfw())
        .args(["log", "--json", "--all", "--limit", "0"])
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut outcomes: HashMap<(String, String), usize> = HashMap::new();
    let mut events = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        events += 1;
        let outcome = (e["direction"] == "server_to_client"
            && matches!(e["kind"].as_str(), Some("result" | "error")))
            || (e["direction"] == "client_to_server" && e["verdict"] == "deny");
        if outcome && e["method"] == "tools/call" {
            let key = (
                e["server"].as_str().unwrap().to_owned(),
                e["id"].as_str().unwrap_or("").to_owned(),
            );
            *outcomes.entry(key).or_default() += 1;
        }
    }
    for s in &finished {
        for id in &s.sent {
            let n = outcomes.get(&(s.name.clone(), id.to_string())).copied().unwrap_or(0);
            assert_eq!(n, 1, "{}: call {id} has {n} recorded outcomes", s.name);
        }
    }
    let verify = run_mcpfw(&home, &["log", "--verify"]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));

    println!(
        "soak: {sessions} sessions for {seconds} s: {calls} calls ({approved} approved, {denied} denied by the approver, {} cancelled), {events} events recorded",
        finished.iter().map(|s| s.cancelled.len()).sum::<usize>()
    );
    println!(
        "soak: daemon fds {} after warm-up, {} at the end; RSS {} KiB after warm-up, {mid_rss} KiB midway, {} KiB at the end",
        warm.1, end.0, warm.2, end.1
    );
    for (name, kib) in &shim_peaks {
        println!("soak: {name}: peak RSS {:.1} MiB", *kib as f64 / 1024.0);
        assert!(*kib < 96 * 1024, "{name}: peak RSS {kib} KiB");
    }
    assert!(
        end.0 <= warm.1,
        "the daemon leaks descriptors: {warm_fds:?} after warm-up, {end_fds:?} at the end"
    );
    assert!(
        end.1 < mid_rss.max(warm.2) + 32 * 1024,
        "the daemon's memory keeps growing: {mid_rss} KiB midway, {} KiB at the end",
        end.1
    );
    assert!(approved > 0 && calls > 0);
}

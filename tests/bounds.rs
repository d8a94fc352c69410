//! Resource bounds: whatever size or number of messages arrives, the shim's memory stays
//! bounded. Each test measures the shim's peak resident memory (VmHWM in /proc/<pid>/status)
//! and prints it; docs/hardening.md's "Resource bounds" table gives the measured numbers.
//!
//! `MCPFW_BOUNDS_MESSAGES` sets how many tiny messages the flood test sends (default 50,000;
//! docs/hardening.md gives the numbers for both).

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{Home, Shim, python, support, tool_text};
use serde_json::{Value, json};

fn fault_server() -> Vec<String> {
    vec![python().display().to_string(), support("fault_server.py").display().to_string()]
}

/// The shim's peak resident memory so far, in MiB.
fn peak_rss_mib(shim: &Shim) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", shim.child.id()))
        .expect("the shim is running");
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kib / 1024.0
}

/// Asserts the shim's peak memory grew by less than `budget` MiB over `baseline` (its peak
/// after the handshake: the program itself, whose size differs between builds, and its
/// runtime), which is what the input under test could have made it hold.
fn report(what: &str, baseline: f64, peak: f64, budget: f64, took: Duration) {
    let grew = peak - baseline;
    println!(
        "bounds: {what}: peak RSS {peak:.1} MiB, {grew:+.1} MiB over the idle shim's {baseline:.1} \
         (budget {budget} MiB), {:.1} s",
        took.as_secs_f64()
    );
    assert!(
        grew < budget,
        "{what}: the shim's peak RSS grew by {grew:.1} MiB (to {peak:.1}; budget {budget} MiB)"
    );
}

/// What a client does first: `initialize`, then `tools/list`. The idle shim the budgets are
/// measured against is the one after both, once the detector's automata (built on a thread of
/// their own after the server's first answer) are in memory: its peak has stopped moving.
fn handshake(shim: &mut Shim) {
    shim.initialize();
    let listed = shim.request(900_000_000, "tools/list", json!({}));
    assert!(listed.get("result").is_some(), "{listed}");
    // The build may still be finishing its last automaton: wait until the peak stops moving
    // (three samples 100 ms apart, at most 5 s).
    let deadline = Instant::now() + Duration::from_secs(5);
    let (mut last, mut steady) = (peak_rss_mib(shim), 0);
    while steady < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let now = peak_rss_mib(shim);
        steady = if now == last { steady + 1 } else { 0 };
        last = now;
    }
}

fn error_code(line: &[u8]) -> i64 {
    let v: Value = serde_json::from_slice(line).unwrap();
    v["error"]["code"].as_i64().unwrap_or_else(|| panic!("not an error: {v}"))
}

/// A line of 64 MiB + 1 (one byte over the default limit) in each direction: refused, answered
/// with an error carrying its id, and the session goes on. A message within the limit has to
/// be held whole (it is checked before it is forwarded), so the peak is the limit plus the
/// shim's own few tens of MiB, never more: the line over it is dropped as soon as it passes
/// the limit, and never grows further.
#[test]
fn a_64_mib_line_is_refused_and_memory_stays_within_the_limit() {
    let limit = 64 * 1024 * 1024;
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &[], &fault_server());
    handshake(&mut shim);
    let baseline = peak_rss_mib(&shim);
    let started = Instant::now();
    shim.send_raw(&long_call(7, limit + 1));
    let answer = shim.recv_raw(Duration::from_secs(60)).expect("an answer to the long line");
    assert_eq!(error_code(&answer), -32600);
    assert_eq!(serde_json::from_slice::<Value>(&answer).unwrap()["id"], 7);
    // The server answers with 64 MiB + 1 of text: the client gets an error for its call.
    let reply = shim.call_tool(8, "big", json!({"bytes": limit + 1}));
    assert_eq!(reply["error"]["code"], -32002, "{}", reply["error"]);
    let echo = shim.call_tool(9, "echo", json!({"after": true}));
    assert!(tool_text(&echo).contains("after"), "{echo}");
    report(
        "a 64 MiB + 1 byte line each way, default limit",
        baseline,
        peak_rss_mib(&shim),
        64.0 + 32.0,
        started.elapsed(),
    );
}

/// With a 1 MiB limit, the same 64 MiB lines never take more than the limit.
#[test]
fn a_64_mib_line_over_a_small_limit_is_never_held() {
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &["--max-message-bytes", "1048576"], &fault_server());
    handshake(&mut shim);
    let baseline = peak_rss_mib(&shim);
    let started = Instant::now();
    shim.send_raw(&long_call(7, 64 * 1024 * 1024));
    let answer = shim.recv_raw(Duration::from_secs(60)).expect("an answer to the long line");
    assert_eq!(error_code(&answer), -32600);
    let reply = shim.call_tool(8, "big", json!({"bytes": 64 * 1024 * 1024}));
    assert_eq!(reply["error"]["code"], -32002, "{}", reply["error"]);
    let peak = peak_rss_mib(&shim);
    report("64 MiB lines each way, 1 MiB limit", baseline, peak, 12.0, started.elapsed());
}

/// A `tools/call` line of exactly `len` bytes (without its newline).
fn long_call(id: u64, len: usize) -> Vec<u8> {
    let head = format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":""#
    );
    let tail = b"\"}}}\n";
    let mut line = Vec::with_capacity(len + 1);
    line.extend_from_slice(head.as_bytes());
    line.resize(len - (tail.len() - 1), b'a');
    line.extend_from_slice(tail);
    assert_eq!(line.len() - 1, len);
    line
}

/// 100,000-deep nesting, many times: refused before any parser recurses, memory flat.
#[test]
fn deep_nesting_is_refused_with_flat_memory() {
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &[], &fault_server());
    handshake(&mut shim);
    let baseline = peak_rss_mib(&shim);
    let started = Instant::now();
    let depth = 100_000;
    for id in 0..20 {
        let line = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"a":{}1{}}}}}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        shim.send_raw(format!("{line}\n").as_bytes());
        let answer = shim.recv_raw(Duration::from_secs(20)).expect("an answer");
        assert_eq!(error_code(&answer), -32600);
    }
    let echo = shim.call_tool(100, "echo", json!({"after": true}));
    assert!(tool_text(&echo).contains("after"), "{echo}");
    let peak = peak_rss_mib(&shim);
    report("20 lines nested 100,000 deep", baseline, peak, 12.0, started.elapsed());
}

/// A flood of tiny messages: all relayed and recorded, and memory does not grow with their
/// number (the history's queue is bounded; the relay waits for the disk instead).
#[test]
fn a_flood_of_tiny_messages_keeps_memory_flat() {
    let count: usize =
        std::env::var("MCPFW_BOUNDS_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &[], &fault_server());
    handshake(&mut shim);
    let baseline = peak_rss_mib(&shim);
    let started = Instant::now();
    let mut batch = Vec::with_capacity(1 << 20);
    for i in 0..count {
        writeln!(
            batch,
            r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":1,"progress":{i}}}}}"#
        )
        .unwrap();
        if batch.len() >= 1 << 20 {
            shim.send_raw(&batch);
            batch.clear();
        }
    }
    shim.send_raw(&batch);
    // The server answers this only after it has read every message before it.
    let reply = shim.call_tool(1, "echo", json!({"last": true}));
    assert!(tool_text(&reply).contains("last"), "{reply}");
    let took = started.elapsed();
    let rss = peak_rss_mib(&shim);
    shim.close_stdin();
    assert!(shim.wait_exit(Duration::from_secs(120)).is_some_and(|s| s.success()));
    let db = home.path().join("data/mcpfw.db");
    let out = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT count(*) FROM events WHERE method = 'notifications/progress'")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        count.to_string(),
        "every message is recorded"
    );
    println!("bounds: {count} tiny messages: {:.0} messages/s", count as f64 / took.as_secs_f64());
    report(&format!("{count} tiny messages"), baseline, rss, 24.0, took);
}

/// Thousands of requests the server never answers: the correlation table is capped
/// (`session::MAX_PENDING`, 10,000), memory stays flat, and other calls are still answered.
#[test]
fn thousands_of_unanswered_requests_keep_memory_flat() {
    let home = Home::new();
    home.policy(
        "[settings]\nunattended = \"allow\"\n[[rules]]\ntool = \"*\"\naction = \"allow\"\n",
    );
    let mut shim = Shim::start(&home, &[], &fault_server());
    handshake(&mut shim);
    let baseline = peak_rss_mib(&shim);
    let started = Instant::now();
    let count = 12_000;
    let mut batch = Vec::new();
    for id in 1..=count {
        writeln!(
            batch,
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"no-answer","arguments":{{"n":{id}}}}}}}"#
        )
        .unwrap();
    }
    shim.send_raw(&batch);
    let reply = shim.call_tool(count + 1, "echo", json!({"still": "answered"}));
    assert!(tool_text(&reply).contains("answered"), "{reply}");
    report(
        &format!("{count} requests never answered"),
        baseline,
        peak_rss_mib(&shim),
        24.0,
        started.elapsed(),
    );
}

/// The size of the pipe the shim writes to its client, read through /proc (the test's own end
/// of it is held by the reader thread).
#[cfg(target_os = "linux")]
fn client_pipe_size(shim: &Shim) -> i32 {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let pipe = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(format!("/proc/{}/fd/1", shim.child.id()))
        .expect("the shim's stdout");
    // SAFETY: F_GETPIPE_SZ on a descriptor this test owns; it touches no memory.
    unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_GETPIPE_SZ) }
}

/// A result larger than a pipe's default 64 KiB widens the pipe to the client to 256 KiB, so the
/// next large results go to the client in one write instead of one pipe-full at a time (each
/// waiting for the client to drain the last); small results leave it as it was.
#[cfg(target_os = "linux")]
#[test]
fn a_large_result_widens_the_pipe_to_the_client() {
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &[], &fault_server());
    handshake(&mut shim);
    let small = shim.call_tool(7, "big", json!({"bytes": 10_000}));
    assert_eq!(tool_text(&small).len(), 10_000, "{small}");
    assert_eq!(client_pipe_size(&shim), 64 * 1024, "small results leave the pipe as it was");
    for id in 8..11 {
        let large = shim.call_tool(id, "big", json!({"bytes": 600_000}));
        assert_eq!(tool_text(&large).len(), 600_000, "a large result arrives whole");
    }
    assert_eq!(client_pipe_size(&shim), 256 * 1024, "the pipe to the client was not widened");
}

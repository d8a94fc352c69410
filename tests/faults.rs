//! Fault injection: what the user sees when the server, the client, the approval daemon or the
//! disk fails. The firewall keeps working, answers or refuses every call, loses no decision
//! silently, and fails closed. (Malformed and oversized messages are in `bad_input.rs`, the
//! server's and client's exits in `lifecycle.rs`, an unanswered or cancelled approval and a
//! daemon that dies mid-approval in `approval.rs`.)
// Unix suite: it uses Unix sockets, signals, file modes or symlinks directly (docs/platforms.md).
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Home, Shim, mcpfw, python, support, tool_text};
use serde_json::{Value, json};

fn fault_server() -> Vec<String> {
    vec![python().display().to_string(), support("fault_server.py").display().to_string()]
}

fn sqlite(db: &Path, sql: &str) -> String {
    let out = Command::new("sqlite3").arg(db).arg(sql).output().expect("run sqlite3");
    assert!(out.status.success(), "sqlite3: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The JSON a fault-server `echo` call answered with.
fn echoed(response: &Value) -> Value {
    serde_json::from_str(tool_text(response)).unwrap_or_else(|e| panic!("{e}: {response}"))
}

/// A policy under which `echo` needs approval, and what nobody can approve is allowed (or not).
fn echo_asks(home: &Home, unattended: &str) {
    home.policy(&format!(
        "[settings]\nunattended = \"{unattended}\"\n[[rules]]\ntool = \"echo\"\naction = \"ask\"\n"
    ));
}

fn is_refusal(response: &Value) -> bool {
    response["result"]["isError"] == true
}

/// Everything the shim's stderr said so far, waiting up to 5 s for `needle` to appear.
fn stderr_with(shim: &Shim, seen: &mut String, needle: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        seen.push_str(&shim.stderr_text());
        if seen.contains(needle) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `mcpfw log --verify` for this home.
fn verify(home: &Home) -> (bool, String) {
    let out = Command::new(mcpfw())
        .args(["log", "--verify"])
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .output()
        .unwrap();
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

#[test]
fn a_server_killed_mid_response_ends_the_session_cleanly() {
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &[], &fault_server());
    shim.initialize();
    shim.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "die-mid-response", "arguments": {}}}));
    let status = shim.wait_exit(Duration::from_secs(10)).expect("the shim exits with its server");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.code(),
        Some(128 + 9),
        "the server's death is the shim's exit code: {status:?}"
    );
    assert_eq!(status.signal(), None);
    // The client saw no half message: everything on stdout is whole JSON-RPC.
    while let Some(line) = shim.recv_raw(Duration::from_millis(200)) {
        let v: Value = serde_json::from_slice(&line).unwrap_or_else(|e| {
            panic!("partial output reached the client ({e}): {}", String::from_utf8_lossy(&line))
        });
        assert_eq!(v["jsonrpc"], "2.0");
        assert!(!String::from_utf8_lossy(&line).contains("xxxxxxxxxx"), "the half result passed");
    }
    // The torn line is in the history as refused server output, not lost.
    let events = home.events();
    assert!(
        events.iter().any(|e| e["direction"] == "server_to_client" && e["verdict"] != "allow"),
        "{events:#?}"
    );
}

#[test]
fn a_server_that_never_answers_does_not_hold_up_other_calls() {
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &[], &fault_server());
    shim.initialize();
    shim.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "no-answer", "arguments": {}}}));
    let started = Instant::now();
    for id in 2..12 {
        let reply = shim.call_tool(id, "echo", json!({"n": id}));
        assert_eq!(echoed(&reply), json!({"n": id}));
    }
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    // The client gives up on the call: its cancellation reaches the server.
    shim.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                      "params": {"requestId": 1, "reason": "timed out"}}));
    let reply = shim.call_tool(20, "cancelled", json!({}));
    assert_eq!(tool_text(&reply), "[1]");
    // No answer was invented for the unanswered call, and it did not leak into the others.
    assert!(shim.recv_raw(Duration::from_millis(300)).is_none());
}

#[test]
fn a_server_flooding_garbage_is_filtered_and_every_drop_is_recorded() {
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &[], &fault_server());
    shim.initialize();
    let count = 50_000;
    shim.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "flood", "arguments": {"count": count, "kind": "garbage"}}}));
    // The next thing the client sees is the result: none of the garbage.
    let line = shim.recv_raw(Duration::from_secs(60)).expect("the flood's result");
    let reply: Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(reply["id"], 1, "{reply}");
    assert_eq!(tool_text(&reply), format!("flooded {count}"));
    let echo = shim.call_tool(2, "echo", json!({}));
    assert_eq!(echoed(&echo), json!({}));
    shim.close_stdin();
    assert!(shim.wait_exit(Duration::from_secs(30)).is_some());
    let db = home.path().join("data/mcpfw.db");
    assert_eq!(
        sqlite(&db, "SELECT count(*) FROM events WHERE verdict = 'drop'"),
        count.to_string(),
        "every dropped line is in the history"
    );
    let (ok, report) = verify(&home);
    assert!(ok, "{report}");
}

fn mcpfw_in(home: &Home, args: &[&str]) -> String {
    let out = Command::new(mcpfw())
        .args(args)
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .output()
        .unwrap();
    assert!(out.status.success(), "mcpfw {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until `n` calls are pending; returns their ids.
fn wait_pending(home: &Home, n: usize) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ids: Vec<u64> = mcpfw_in(home, &["pending", "--json"])
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_u64().unwrap())
            .collect();
        if ids.len() == n {
            return ids;
        }
        assert!(Instant::now() < deadline, "expected {n} pending, have {ids:?}");
        std::thread::sleep(Duration::from_millis(30));
    }
}

fn send_call(shim: &mut Shim, id: i64, tool: &str, args: Value) {
    shim.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                      "params": {"name": tool, "arguments": args}}));
}

#[test]
fn a_client_that_vanishes_mid_approval_withdraws_its_call() {
    let home = Home::new();
    echo_asks(&home, "deny");
    let daemon = common::socket_daemon(&home);
    let mut shim = Shim::start(&home, &["--name", "faulty"], &fault_server());
    shim.initialize();
    send_call(&mut shim, 1, "echo", json!({"vanish": true}));
    wait_pending(&home, 1);
    // The client goes away (its end of the pipe closes) while the call waits.
    shim.close_stdin();
    wait_pending(&home, 0);
    assert!(shim.wait_exit(Duration::from_secs(10)).is_some(), "the shim ends with its client");
    let events = home.events();
    let outcome = events
        .iter()
        .find(|e| e["kind"] == "approval" && e["id"] == "1")
        .unwrap_or_else(|| panic!("no approval outcome recorded: {events:#?}"));
    assert_eq!(outcome["verdict"], "deny", "{outcome}");
    assert!(outcome["reason"].as_str().unwrap().contains("cancelled"), "{outcome}");
    // The server never ran it.
    assert!(
        !events.iter().any(|e| e["direction"] == "server_to_client" && e["id"] == "1"),
        "{events:#?}"
    );
    drop(daemon);
}

#[test]
fn calls_needing_approval_fail_closed_while_the_daemon_restarts_then_work_again() {
    let home = Home::new();
    echo_asks(&home, "deny");
    let daemon = common::socket_daemon(&home);
    let mut shim = Shim::start(&home, &["--name", "faulty"], &fault_server());
    shim.initialize();
    send_call(&mut shim, 1, "echo", json!({"n": 1}));
    let id = wait_pending(&home, 1)[0];
    mcpfw_in(&home, &["approve", &id.to_string()]);
    assert_eq!(echoed(&shim.response(&json!(1))), json!({"n": 1}));

    // The daemon goes away: the call is refused at once, saying why and what to do.
    drop(daemon);
    let asked = Instant::now();
    send_call(&mut shim, 2, "echo", json!({"n": 2}));
    let refused = shim.response(&json!(2));
    assert!(is_refusal(&refused), "{refused}");
    let text = tool_text(&refused);
    assert!(text.contains("no approver is running") && text.contains("mcpfw daemon"), "{text}");
    assert!(asked.elapsed() < Duration::from_secs(3), "took {:?}", asked.elapsed());
    // Other traffic goes on meanwhile.
    let ping = shim.request(3, "ping", json!({}));
    assert!(ping.get("result").is_some(), "{ping}");

    // The daemon is back: the same shim asks it again, and the approval runs the call.
    let daemon = common::socket_daemon(&home);
    send_call(&mut shim, 4, "echo", json!({"n": 4}));
    let id = wait_pending(&home, 1)[0];
    mcpfw_in(&home, &["approve", &id.to_string()]);
    assert_eq!(echoed(&shim.response(&json!(4))), json!({"n": 4}));
    drop(daemon);
    let (ok, report) = verify(&home);
    assert!(ok, "{report}");
}

#[test]
fn a_damaged_history_database_is_set_aside_and_a_new_one_started() {
    let home = Home::permissive();
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("mcpfw.db");
    let garbage = b"SQLite format 3\0 but then the disk ate it ".repeat(200);
    std::fs::write(&db, &garbage).unwrap();

    let mut shim = Shim::start(&home, &[], &fault_server());
    shim.initialize();
    assert_eq!(echoed(&shim.call_tool(1, "echo", json!({"a": 1}))), json!({"a": 1}));
    let mut stderr = String::new();
    assert!(stderr_with(&shim, &mut stderr, "a new history was started"), "{stderr}");
    let backups: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("mcpfw.db.corrupt-"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(stderr.contains(&backups[0].display().to_string()), "the warning says where: {stderr}");
    assert_eq!(std::fs::read(&backups[0]).unwrap(), garbage, "the damaged file is kept whole");
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(10));
    let events = home.events();
    assert!(events.iter().any(|e| e["tool"] == "echo" && e["id"] == "1"), "{events:#?}");
    let (ok, report) = verify(&home);
    assert!(ok, "{report}");
}

#[test]
fn a_history_locked_by_another_process_delays_a_refusal_but_keeps_it() {
    let home = Home::permissive();
    home.policy("[settings]\nunattended = \"allow\"\n[[rules]]\ntool = \"forbidden\"\naction = \"deny\"\nreason = \"not here\"\n");
    let mut shim = Shim::start(&home, &[], &fault_server());
    shim.initialize();
    let db = home.path().join("data/mcpfw.db");
    // The sqlite3 CLI takes the write lock and keeps it for 2 s.
    let mut holder = Command::new("sqlite3")
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::{BufRead, Write};
        let mut stdin = holder.stdin.take().unwrap();
        writeln!(stdin, ".timeout 5000\nBEGIN IMMEDIATE;\n.print locked\n.shell sleep 2\nCOMMIT;")
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(holder.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "locked");
    }
    let asked = Instant::now();
    let refused = shim.call_tool(1, "forbidden", json!({}));
    let waited = asked.elapsed();
    assert!(is_refusal(&refused), "{refused}");
    assert!(tool_text(&refused).contains("not here"), "{refused}");
    let held = holder.wait_with_output().unwrap();
    assert!(held.status.success(), "sqlite3: {}", String::from_utf8_lossy(&held.stderr));
    // Refusals are kept before they are told: the answer waited for the lock.
    assert!(
        waited >= Duration::from_millis(1000),
        "answered after {waited:?}, before the lock was free"
    );
    assert_eq!(
        sqlite(&db, "SELECT count(*) FROM events WHERE tool = 'forbidden' AND verdict = 'deny'"),
        "1"
    );
}

/// A tiny tmpfs mounted over a folder, unmounted on drop. Needs root (CI and the development
/// machines run as root); elsewhere the test that uses it says it was skipped.
struct TinyDisk {
    at: PathBuf,
}

impl TinyDisk {
    fn mount(at: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self { at: at.to_owned() })
    }

    /// Fills the disk with a file; returns its path.
    fn fill(&self) -> PathBuf {
        let filler = self.at.join("filler");
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=64k"])
            .arg(format!("of={}", filler.display()))
            .stderr(Stdio::null())
            .status();
        filler
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

#[test]
fn on_a_full_disk_risky_calls_fail_closed_and_the_loss_is_reported() {
    let home = Home::new();
    echo_asks(&home, "allow");
    let Some(disk) = TinyDisk::mount(&home.path().join("data"), "8m") else {
        eprintln!("SKIPPED: mounting a tmpfs needs root; the full-disk case was not tested");
        return;
    };
    let mut shim = Shim::start(&home, &[], &fault_server());
    shim.initialize();
    // `echo` needs approval; with nobody to ask, this home allows it.
    assert_eq!(echoed(&shim.call_tool(1, "echo", json!({"n": 1}))), json!({"n": 1}));

    let filler = disk.fill();
    // Once the history cannot grow, the same call is refused: the decision to let it run could
    // not be kept. (SQLite reuses space it already has, so it takes some traffic to get there.)
    let mut refused = None;
    for round in 0..20 {
        let id = 100 + 2 * round;
        let flood = shim.call_tool(id, "flood", json!({"count": 2000, "kind": "notification"}));
        assert!(flood.get("result").is_some(), "{flood}");
        let reply = shim.call_tool(id + 1, "echo", json!({"n": id + 1}));
        if is_refusal(&reply) {
            refused = Some(reply);
            break;
        }
        assert_eq!(echoed(&reply), json!({"n": id + 1}));
    }
    let refused = refused.expect("a full disk never made a call fail closed");
    assert!(tool_text(&refused).contains("could not be recorded"), "{refused}");
    // The loss is said out loud, never silent.
    let mut stderr = String::new();
    assert!(stderr_with(&shim, &mut stderr, "could not be recorded and are lost"), "{stderr}");
    // Traffic that needs no decision still flows.
    let ping = shim.request(3, "ping", json!({}));
    assert!(ping.get("result").is_some(), "{ping}");

    // Space again: the history takes the next events and its chain still verifies.
    std::fs::remove_file(&filler).unwrap();
    let mut ok = None;
    for id in 4..40 {
        let reply = shim.call_tool(id, "echo", json!({"n": id}));
        if !is_refusal(&reply) {
            ok = Some(id);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let ok = ok.unwrap_or_else(|| {
        panic!("calls do not run again once the disk has room; stderr: {}", shim.stderr_text())
    });
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(10));
    let events = home.events();
    let ok_id = ok.to_string();
    assert!(events.iter().any(|e| e["id"] == ok_id.as_str() && e["tool"] == "echo"), "{events:#?}");
    let (verified, report) = verify(&home);
    assert!(verified, "{report}");
    drop(disk);
}

#[test]
fn a_read_only_data_folder_stops_the_shim_before_the_server_runs() {
    let home = Home::permissive();
    let data = home.path().join("data");
    let Some(_disk) = TinyDisk::mount(&data, "1m") else {
        eprintln!("SKIPPED: mounting a tmpfs needs root; the read-only case was not tested");
        return;
    };
    let remounted = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&data)
        .status()
        .is_ok_and(|s| s.success());
    assert!(remounted, "remounting read-only");
    let marker = home.path().join("server-ran");
    let server = vec!["sh".into(), "-c".into(), format!("touch {}; cat", marker.display())];
    let mut shim = Shim::start(&home, &[], &server);
    let status = shim.wait_exit(Duration::from_secs(10)).expect("the shim stops");
    assert!(!status.success(), "{status:?}");
    let mut stderr = String::new();
    assert!(stderr_with(&shim, &mut stderr, "history database"), "{stderr}");
    assert!(stderr.contains(&data.join("mcpfw.db").display().to_string()), "{stderr}");
    assert!(!marker.exists(), "the server ran without a history to record it");
}

/// Found by fuzzing: a line ending inside a string right after a backslash made the decoder
/// read past the end and panic, which ended that direction's relay. From either side it is now
/// one refused line, and the session goes on.
#[test]
fn a_line_torn_inside_an_escape_does_not_stop_the_relay() {
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &[], &fault_server());
    shim.initialize();
    shim.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":\"\\\n");
    let line = shim.recv_raw(Duration::from_secs(10)).expect("an answer to the torn line");
    let error: Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(error["error"]["code"], -32700, "{error}");
    let reply = shim.call_tool(2, "torn-escape", json!({}));
    assert_eq!(tool_text(&reply), "after the torn line");
    let ping = shim.request(3, "ping", json!({}));
    assert!(ping.get("result").is_some(), "{ping}");
}

/// Under a file-size limit (`ulimit -f`) the kernel used to end the shim with SIGXFSZ as soon as
/// the history grew past it, taking the server's session down with it. Now the write fails
/// like on a full disk: the shim stays up, the call that needs approval is refused, and the
/// loss is reported.
#[test]
fn a_file_size_limit_is_a_full_disk_not_a_crash() {
    let home = Home::new();
    echo_asks(&home, "allow");
    let mut cmd = Command::new("prlimit");
    cmd.arg("--fsize=1000000").arg(mcpfw()).arg("wrap").arg("--").args(fault_server());
    let mut shim = Shim::spawn(cmd, &home);
    shim.initialize();
    assert_eq!(echoed(&shim.call_tool(1, "echo", json!({"n": 1}))), json!({"n": 1}));
    let mut refused = None;
    for round in 0..30 {
        let id = 100 + 2 * round;
        let flood = shim.call_tool(id, "flood", json!({"count": 2000, "kind": "notification"}));
        assert!(flood.get("result").is_some(), "{flood}");
        let reply = shim.call_tool(id + 1, "echo", json!({"n": id + 1}));
        if is_refusal(&reply) {
            refused = Some(reply);
            break;
        }
    }
    let refused = refused.expect("the file-size limit never made a call fail closed");
    assert!(tool_text(&refused).contains("could not be recorded"), "{refused}");
    let mut stderr = String::new();
    assert!(stderr_with(&shim, &mut stderr, "could not be recorded and are lost"), "{stderr}");
    let ping = shim.request(1000, "ping", json!({}));
    assert!(ping.get("result").is_some(), "the shim is still up: {ping}");
    assert!(shim.child.try_wait().unwrap().is_none(), "the shim exited");
}

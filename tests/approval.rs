//! Approvals end to end: `mcpfw daemon`, a real filesystem server behind `mcpfw wrap`, and a
//! person answering with `mcpfw pending`, `mcpfw approve` and `mcpfw deny`.
// Unix suite: it uses Unix sockets, signals, file modes or symlinks directly (docs/platforms.md).
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Home, Shim, mcpfw, npm_server};
use serde_json::{Value, json};

struct Setup {
    home: Home,
    work: tempfile::TempDir,
    outside: tempfile::TempDir,
    daemon: Option<Child>,
}

impl Setup {
    fn new(timeout_secs: u64) -> Self {
        let home = Home::new();
        let mut s = Self {
            home,
            work: tempfile::tempdir().unwrap(),
            outside: tempfile::tempdir().unwrap(),
            daemon: None,
        };
        s.home.policy(&format!("[settings]\ninfer_roots = false\n{}", s.boxes()));
        let daemon = s
            .cmd()
            .args(["daemon", "--timeout", &timeout_secs.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        s.daemon = Some(daemon);
        let socket = s.home.path().join("run/mcpfw.sock");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "the daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    /// The servers' boxes widened to what they were given (the whole temp area for the
    /// filesystem server), so that only approvals stand between a call and the files; the box
    /// itself is tested in tests/containment.rs.
    fn boxes(&self) -> String {
        let tmp = self.work.path().parent().unwrap().display().to_string();
        let work = self.work.path().display().to_string();
        format!(
            "\n[servers.files.sandbox]\nwrite = [{tmp:?}]\n\n[servers.memory.sandbox]\nwrite = [{work:?}]\n"
        )
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new(mcpfw());
        cmd.env("MCPFW_HOME", self.home.path()).env("MCPFW_KEYRING", "off");
        cmd
    }

    fn shim(&self) -> Shim {
        let mut cmd = self.cmd();
        cmd.args(["wrap", "--name", "files", "--root"])
            .arg(self.work.path())
            .arg("--")
            .arg(npm_server("mcp-server-filesystem"))
            .arg(self.work.path().parent().unwrap());
        let mut shim = Shim::spawn_raw(cmd);
        shim.initialize();
        shim
    }

    fn pending(&self) -> Vec<Value> {
        self.home.pending()
    }

    /// Waits until `n` calls are pending and returns them.
    fn wait_pending(&self, n: usize) -> Vec<Value> {
        self.home.wait_pending(Duration::from_secs(10), |p| p.len() == n)
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(out.status.success(), "mcpfw {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn outside_file(&self, name: &str) -> String {
        self.outside.path().join(name).display().to_string()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

fn send_call(shim: &mut Shim, id: i64, tool: &str, args: Value) {
    shim.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}}));
}

fn is_refusal(response: &Value) -> bool {
    response["result"]["isError"] == true
}

fn text(response: &Value) -> &str {
    response["result"]["content"][0]["text"].as_str().unwrap_or_default()
}

#[test]
fn an_approved_call_runs_and_a_refused_one_does_not() {
    let s = Setup::new(60);
    let mut shim = s.shim();
    let target = s.outside_file("approved.txt");
    send_call(&mut shim, 1, "write_file", json!({"path": target, "content": "hello"}));
    let pending = s.wait_pending(1);
    assert_eq!(pending[0]["request"]["tool"], "write_file");
    assert!(
        pending[0]["request"]["reason"].as_str().unwrap().contains("outside this server's roots")
    );
    // The session is not blocked while the call waits.
    std::fs::write(s.work.path().join("a.txt"), "in root").unwrap();
    let read = shim.call_tool(2, "read_text_file", json!({"path": s.work.path().join("a.txt")}));
    assert_eq!(text(&read), "in root");
    assert!(!Path::new(&target).exists());

    s.run(&["approve", &pending[0]["id"].to_string()]);
    let done = shim.response(&json!(1));
    assert!(!is_refusal(&done), "{done}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "hello");

    let other = s.outside_file("refused.txt");
    send_call(&mut shim, 3, "write_file", json!({"path": other, "content": "no"}));
    let pending = s.wait_pending(1);
    s.run(&["deny", &pending[0]["id"].to_string()]);
    let refused = shim.response(&json!(3));
    assert!(is_refusal(&refused), "{refused}");
    assert!(text(&refused).contains("you refused this call"), "{refused}");
    assert!(!Path::new(&other).exists());

    let history = s.run(&["log", "--json", "--tool", "write_file", "--limit", "0"]);
    let approvals: Vec<Value> = history
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &Value| e["kind"] == "approval")
        .collect();
    assert_eq!(approvals.len(), 2, "{history}");
    assert!(approvals.iter().any(|e| e["verdict"] == "allow" && e["decided_by"] == "user"));
    assert!(approvals.iter().any(|e| e["verdict"] == "deny" && e["decided_by"] == "user"));
}

#[test]
fn a_pause_lets_asking_calls_run_without_asking_until_resumed_and_denials_stay() {
    let s = Setup::new(60);
    s.home.policy(&format!(
        "[settings]\ninfer_roots = false\n\n[[rules]]\nid = \"no-dirs\"\ntool = \"create_directory\"\naction = \"deny\"\nreason = \"no new folders\"\n{}",
        s.boxes()
    ));
    let mut shim = s.shim();
    // A call waiting before the pause keeps waiting through it.
    send_call(
        &mut shim,
        1,
        "write_file",
        json!({"path": s.outside_file("before.txt"), "content": "b"}),
    );
    let before = s.wait_pending(1);
    assert!(s.run(&["pause"]).contains("protection is on"));
    let paused = s.run(&["pause", "15m", "--json"]);
    let paused: Value = serde_json::from_str(paused.trim()).unwrap();
    assert_eq!(paused["paused"], true);
    let length = paused["pause"]["until_ms"].as_u64().unwrap()
        - paused["pause"]["since_ms"].as_u64().unwrap();
    assert_eq!(length, 15 * 60_000);
    assert!(s.run(&["pause"]).contains("PROTECTION IS PAUSED for 15 more minutes"));

    // While paused, a call that would ask runs at once, and is recorded as such.
    let during = s.outside_file("during.txt");
    let ran = shim.call_tool(2, "write_file", json!({"path": during, "content": "d"}));
    assert!(!is_refusal(&ran), "{ran}");
    assert_eq!(std::fs::read_to_string(&during).unwrap(), "d");
    assert_eq!(s.pending().len(), 1, "only the call from before the pause waits");
    // A rule's refusal stays in force.
    let dir = s.outside_file("newdir");
    let refused = shim.call_tool(3, "create_directory", json!({"path": dir}));
    assert!(is_refusal(&refused) && text(&refused).contains("no new folders"), "{refused}");
    assert!(!Path::new(&dir).exists());

    // Bad lengths are refused with a reason, and nothing changes.
    for bad in ["0", "2d", "25h"] {
        let out = s.cmd().args(["pause", bad]).output().unwrap();
        assert!(!out.status.success(), "pause {bad} was accepted");
        assert!(String::from_utf8_lossy(&out.stderr).contains("pause"), "pause {bad}");
    }

    assert!(s.run(&["resume"]).contains("protection is on"));
    send_call(
        &mut shim,
        4,
        "write_file",
        json!({"path": s.outside_file("after.txt"), "content": "a"}),
    );
    let after = s.wait_pending(2);
    assert_eq!(before[0]["id"], after[0]["id"]);
    s.run(&["deny", &after[0]["id"].to_string()]);
    assert!(is_refusal(&shim.response(&json!(1))));
    s.run(&["deny", &after[1]["id"].to_string()]);
    assert!(is_refusal(&shim.response(&json!(4))));

    let history = s.run(&["log", "--json", "--tool", "write_file", "--limit", "0"]);
    let by: Vec<(String, String)> = history
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "approval")
        .map(|e| (e["verdict"].as_str().unwrap().into(), e["decided_by"].as_str().unwrap().into()))
        .collect();
    assert!(by.contains(&("allow".into(), "paused".into())), "{history}");
    assert_eq!(by.iter().filter(|(_, d)| d == "paused").count(), 1, "{history}");
    let paused_row = history.lines().find(|l| l.contains("\"decided_by\":\"paused\"")).unwrap();
    assert!(paused_row.contains("protection was paused"), "{paused_row}");
}

#[test]
fn an_hour_approval_covers_identical_calls_only() {
    let s = Setup::new(60);
    let mut shim = s.shim();
    let target = s.outside_file("x.txt");
    send_call(&mut shim, 1, "write_file", json!({"path": target, "content": "1"}));
    let pending = s.wait_pending(1);
    s.run(&["approve", &pending[0]["id"].to_string(), "--scope", "hour"]);
    assert!(!is_refusal(&shim.response(&json!(1))));
    // The identical call is not asked again...
    let again = shim.call_tool(2, "write_file", json!({"path": target, "content": "1"}));
    assert!(!is_refusal(&again), "{again}");
    assert!(s.pending().is_empty());
    // ...but a different argument still is.
    send_call(&mut shim, 3, "write_file", json!({"path": target, "content": "2"}));
    let pending = s.wait_pending(1);
    s.run(&["deny", &pending[0]["id"].to_string()]);
    assert!(is_refusal(&shim.response(&json!(3))));
    // The approval is also a rule, for servers started later.
    let rules = s.run(&["rules", "list"]);
    assert!(rules.contains("db:1") && rules.contains("(approval)"), "{rules}");
}

#[test]
fn unanswered_cancelled_and_orphaned_calls_fail_closed() {
    let s = Setup::new(2);
    let mut shim = s.shim();
    // Nobody answers: refused after the daemon's timeout.
    let started = Instant::now();
    send_call(&mut shim, 1, "write_file", json!({"path": s.outside_file("t.txt"), "content": "x"}));
    let refused = shim.response(&json!(1));
    assert!(
        is_refusal(&refused) && text(&refused).contains("nobody approved it within 2 s"),
        "{refused}"
    );
    assert!(started.elapsed() < Duration::from_secs(6));

    // The client cancels: the pending call is withdrawn and never answered.
    send_call(&mut shim, 2, "write_file", json!({"path": s.outside_file("c.txt"), "content": "x"}));
    s.wait_pending(1);
    shim.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2, "reason": "user"}}));
    s.wait_pending(0);
    let echo = shim.call_tool(3, "list_allowed_directories", json!({}));
    assert!(!is_refusal(&echo), "{echo}");
    assert!(!s.outside.path().join("c.txt").exists());

    // A shim's connection cannot decide: deciding needs the approver token.
    send_call(&mut shim, 4, "write_file", json!({"path": s.outside_file("k.txt"), "content": "x"}));
    let id = s.wait_pending(1)[0]["id"].as_u64().unwrap();
    let mut sock =
        std::os::unix::net::UnixStream::connect(s.home.path().join("run/mcpfw.sock")).unwrap();
    use std::io::{BufRead, Write};
    writeln!(
        sock,
        "{}",
        json!({"op": "decide", "token": "guess", "id": id, "allow": true, "scope": "once"})
    )
    .unwrap();
    let mut answer = String::new();
    std::io::BufReader::new(&sock).read_line(&mut answer).unwrap();
    assert!(answer.contains("not authorised"), "{answer}");

    // The daemon dies mid-approval: the call is refused within a second.
    let mut s = s;
    let mut daemon = s.daemon.take().unwrap();
    let killed = Instant::now();
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let refused = shim.response(&json!(4));
    assert!(is_refusal(&refused), "{refused}");
    assert!(text(&refused).contains("stopped before anyone decided"), "{refused}");
    assert!(killed.elapsed() < Duration::from_secs(1), "took {:?}", killed.elapsed());
    assert!(!s.outside.path().join("k.txt").exists());
}

#[test]
fn a_waiting_call_keeps_the_client_waiting_with_progress() {
    let s = Setup::new(60);
    let mut shim = s.shim();
    shim.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "write_file",
        "arguments": {"path": s.outside_file("p.txt"), "content": "x"},
        "_meta": {"progressToken": "tok-1"}}}));
    let pending = s.wait_pending(1);
    // Progress arrives under the call's token while it waits (every few seconds).
    let deadline = Instant::now() + Duration::from_secs(15);
    let progress = loop {
        let line = shim
            .recv_raw(deadline.saturating_duration_since(Instant::now()))
            .expect("progress while waiting");
        let v: Value = serde_json::from_slice(&line).unwrap();
        if v["method"] == "notifications/progress" {
            break v;
        }
    };
    assert_eq!(progress["params"]["progressToken"], "tok-1");
    assert!(progress["params"]["message"].as_str().unwrap().contains("approval"));
    s.run(&["approve", &pending[0]["id"].to_string()]);
    assert!(!is_refusal(&shim.response(&json!(1))));
}

#[test]
fn deletes_take_two_separate_steps_and_writes_show_their_diff() {
    let s = Setup::new(60);
    let memory_file = s.work.path().join("memory.jsonl");
    let mut cmd = s.cmd();
    cmd.args(["wrap", "--name", "memory", "--"])
        .arg(npm_server("mcp-server-memory"))
        .env("MEMORY_FILE_PATH", &memory_file);
    let mut memory = Shim::spawn_raw(cmd);
    memory.initialize();
    let created = memory.call_tool(1, "create_entities", json!({"entities": [{"name": "Alice", "entityType": "person", "observations": ["likes tea"]}]}));
    assert!(!is_refusal(&created), "{created}");

    send_call(&mut memory, 2, "delete_entities", json!({"entityNames": ["Alice"]}));
    let pending = s.wait_pending(1);
    let id = pending[0]["id"].to_string();
    assert!(pending[0]["request"]["confirm"].as_str().unwrap().contains("delete"), "{pending:?}");
    // Step 1 shows the effect and arms step 2; the call has not run.
    let step1 = s.run(&["approve", &id]);
    assert!(step1.contains("Step 2 of 2") && step1.contains("--confirm"), "{step1}");
    assert_eq!(s.pending().len(), 1, "one approve passed a two-step call");
    // A confirmation in the same breath is refused...
    let hurried = s.cmd().args(["approve", &id, "--confirm"]).output().unwrap();
    assert!(!hurried.status.success());
    assert!(
        String::from_utf8_lossy(&hurried.stderr).contains("not confirmed"),
        "{}",
        String::from_utf8_lossy(&hurried.stderr)
    );
    // ...a deliberate one a moment later goes through.
    std::thread::sleep(Duration::from_millis(1100));
    s.run(&["approve", &id, "--confirm"]);
    let done = memory.response(&json!(2));
    assert!(!is_refusal(&done), "{done}");
    let graph = memory.call_tool(3, "read_graph", json!({}));
    assert!(!text(&graph).contains("Alice"), "{graph}");

    // A write to an existing file shows what would change.
    let mut files = s.shim();
    let existing = s.outside.path().join("notes.txt");
    std::fs::write(&existing, "first line\nold line\n").unwrap();
    send_call(
        &mut files,
        4,
        "write_file",
        json!({"path": existing, "content": "first line\nnew line\n"}),
    );
    let pending = s.wait_pending(1);
    let preview: Vec<&str> = pending[0]["request"]["preview"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(preview.contains(&"-old line") && preview.contains(&"+new line"), "{preview:?}");
    assert!(preview.iter().any(|l| l.contains("exists, 20 bytes")), "{preview:?}");
    s.run(&["deny", &pending[0]["id"].to_string()]);
    assert!(is_refusal(&files.response(&json!(4))));
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "first line\nold line\n");
}

#[test]
fn identical_waiting_calls_are_asked_once_and_a_session_approval_is_not_a_rule() {
    let s = Setup::new(60);
    let mut shim = s.shim();
    let target = s.outside_file("same.txt");
    let args = json!({"path": target, "content": "same"});
    send_call(&mut shim, 1, "write_file", args.clone());
    s.wait_pending(1);
    send_call(&mut shim, 2, "write_file", args.clone());
    // Still one question, now with two callers.
    let deadline = Instant::now() + Duration::from_secs(10);
    let pending = loop {
        let p = s.pending();
        if p.len() == 1 && p[0]["callers"] == 2 {
            break p;
        }
        assert!(Instant::now() < deadline, "not coalesced: {p:?}");
        std::thread::sleep(Duration::from_millis(30));
    };
    s.run(&["approve", &pending[0]["id"].to_string(), "--scope", "session"]);
    // Both callers are answered (in whichever order their calls ran).
    let mut answered = std::collections::BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while answered.len() < 2 {
        let line = shim
            .recv_raw(deadline.saturating_duration_since(Instant::now()))
            .expect("both answers");
        let v: Value = serde_json::from_slice(&line).unwrap();
        if v.get("method").is_none() {
            answered.insert(v["id"].as_i64().unwrap(), v);
        }
    }
    assert!(answered.values().all(|v| !is_refusal(v)), "{answered:?}");
    assert_eq!(answered.keys().copied().collect::<Vec<_>>(), [1, 2]);
    // The session approval covers the identical call without asking, and makes no rule.
    assert!(!is_refusal(&shim.call_tool(3, "write_file", args)));
    assert!(s.pending().is_empty());
    assert!(s.run(&["rules", "list"]).contains("no rules"));
}

#[test]
fn fifty_concurrent_pending_calls_are_each_answered_as_decided() {
    let s = Setup::new(60);
    let mut shim = s.shim();
    for n in 0..50 {
        send_call(
            &mut shim,
            100 + n,
            "write_file",
            json!({"path": s.outside_file(&format!("f{n}.txt")), "content": format!("{n}")}),
        );
    }
    let pending = s.wait_pending(50);
    // Approve the calls for even files, refuse the odd ones, in one go each from the CLI.
    let socket = s.home.path().join("run/mcpfw.sock");
    let token = std::fs::read_to_string(s.home.path().join("config/approver.token")).unwrap();
    for call in &pending {
        let path = call["request"]["arguments"].as_str().unwrap().to_owned();
        let n: u32 =
            path.split("/f").nth(1).unwrap().split(".txt").next().unwrap().parse().unwrap();
        let mut sock = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        use std::io::{BufRead, Write};
        writeln!(sock, "{}", json!({"op": "decide", "token": token.trim(), "id": call["id"], "allow": n.is_multiple_of(2), "scope": "once"})).unwrap();
        let mut answer = String::new();
        std::io::BufReader::new(&sock).read_line(&mut answer).unwrap();
        assert!(answer.contains("done"), "{answer}");
    }
    let mut answered = std::collections::BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while answered.len() < 50 {
        let line = shim
            .recv_raw(deadline.saturating_duration_since(Instant::now()))
            .expect("all 50 answered");
        let v: Value = serde_json::from_slice(&line).unwrap();
        if v.get("method").is_none() {
            answered.insert(v["id"].as_i64().unwrap(), v);
        }
    }
    for n in 0..50 {
        let refused = is_refusal(&answered[&(100 + n)]);
        assert_eq!(refused, n % 2 == 1, "call {n}: {}", answered[&(100 + n)]);
        assert_eq!(s.outside.path().join(format!("f{n}.txt")).exists(), n % 2 == 0, "file {n}");
    }
}

/// A 2026-07-28 server that needs more input answers an approved call with `input_required`;
/// the client's retry with the answers is the same call and is not asked about again — but the
/// state is bound to the call: a retry with other arguments, or a second use, asks.
#[test]
fn a_multi_round_trip_retry_of_an_approved_call_is_not_asked_twice() {
    let s = Setup::new(60);
    s.home.policy(
        "[settings]\ninfer_roots = false\n\n[[rules]]\nid = \"ask-bookings\"\ntool = \"book_table\"\naction = \"ask\"\nreason = \"bookings are checked\"\n",
    );
    let mut cmd = s.cmd();
    cmd.args(["wrap", "--name", "modern", "--"])
        .arg(common::python())
        .arg(common::support("modern_server.py"));
    let mut shim = Shim::spawn_raw(cmd);
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}},
        "io.modelcontextprotocol/clientInfo": {"name": "mrtr-test", "version": "1"}
    });
    let call = |id: i64, restaurant: &str, retry: Option<(&Value, &Value)>| {
        let mut params =
            json!({"name": "book_table", "arguments": {"restaurant": restaurant}, "_meta": meta});
        if let Some((state, key)) = retry {
            params["requestState"] = state.clone();
            params["inputResponses"] =
                json!({ key.as_str().unwrap(): {"action": "accept", "content": {"seats": 4}} });
        }
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
    };

    // The first round is asked about and approved once.
    shim.send(&call(1, "Roma", None));
    let pending = s.wait_pending(1);
    let id = pending[0]["id"].to_string();
    s.run(&["approve", &id]);
    let first = shim.response(&json!(1));
    assert_eq!(first["result"]["resultType"], "input_required", "{first}");
    let state = first["result"]["requestState"].clone();
    let key = json!(first["result"]["inputRequests"].as_object().unwrap().keys().next().unwrap());

    // The retry with the answers runs without a second question.
    shim.send(&call(2, "Roma", Some((&state, &key))));
    let second = shim.response(&json!(2));
    assert_eq!(text(&second), "Booked 4 seats at Roma", "{second}");
    assert!(s.pending().is_empty());

    // The same state again, or with other arguments, is a new call: it is asked about.
    shim.send(&call(3, "Roma", Some((&state, &key))));
    let pending = s.wait_pending(1);
    s.run(&["deny", &pending[0]["id"].to_string()]);
    assert!(is_refusal(&shim.response(&json!(3))));
    shim.send(&call(4, "Paris", Some((&state, &key))));
    s.wait_pending(1);
}

/// Whether the notification tests run here (`MCPFW_TEST_NOTIFY`, set by `scripts/test` in a
/// session with dunst); says so when they are skipped.
fn notification_server() -> bool {
    let on = std::env::var_os("MCPFW_TEST_NOTIFY").is_some();
    if !on {
        println!(
            "skipped: set MCPFW_TEST_NOTIFY=1 in a session with a notification server (dunst)"
        );
    }
    on
}

/// `dunstctl` of the notification server the test session runs (see `notifications_*`).
fn dunstctl(args: &[&str]) -> String {
    let out = Command::new("dunstctl").args(args).output().expect("dunstctl");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A waiting call is announced with a real desktop notification (server, tool, kind, how to
/// answer; no argument values), which is taken down once the call is decided. Needs a session
/// bus with a notification server, so it is skipped unless `MCPFW_TEST_NOTIFY` is set;
/// `scripts/test` runs it under Xvfb with dunst.
#[test]
fn notifications_announce_a_waiting_call_and_go_when_it_is_decided() {
    if !notification_server() {
        return;
    }
    let s = Setup::new(60);
    let before: usize = dunstctl(&["count", "history"]).parse().unwrap_or(0);
    let mut shim = s.shim();
    let target = s.outside_file("notified.txt");
    send_call(&mut shim, 1, "write_file", json!({"path": target, "content": "secret-ish words"}));
    let id = s.wait_pending(1)[0]["id"].to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while dunstctl(&["count", "displayed"]) != "1" {
        assert!(Instant::now() < deadline, "no notification was shown");
        std::thread::sleep(Duration::from_millis(50));
    }
    s.run(&["approve", &id]);
    assert!(!is_refusal(&shim.response(&json!(1))));
    let deadline = Instant::now() + Duration::from_secs(10);
    while dunstctl(&["count", "displayed"]) != "0" {
        assert!(Instant::now() < deadline, "the notification stayed after the call was decided");
        std::thread::sleep(Duration::from_millis(50));
    }
    let history: Value = serde_json::from_str(&dunstctl(&["history"])).unwrap();
    let shown = &history["data"][0];
    assert_eq!(shown.as_array().map(Vec::len), Some(before + 1), "{history}");
    let newest = &shown[0];
    assert_eq!(newest["appname"]["data"], "MCP Firewall");
    assert_eq!(newest["summary"]["data"], "Approve files · write_file (write)?");
    let body = newest["body"]["data"].as_str().unwrap();
    assert!(body.contains(&format!("mcpfw approve {id}")), "{body}");
    assert!(!body.contains("secret-ish"), "argument values are not shown: {body}");
}

/// Pausing and resuming protection are announced with desktop notifications, and the pause's
/// notice is taken down when it ends. Skipped unless `MCPFW_TEST_NOTIFY` is set.
#[test]
fn notifications_announce_a_pause_and_its_end() {
    if !notification_server() {
        return;
    }
    let s = Setup::new(60);
    let summaries = || -> Vec<String> {
        let history: Value = serde_json::from_str(&dunstctl(&["history"])).unwrap();
        history["data"][0]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|n| n["summary"]["data"].as_str().map(str::to_owned))
            .collect()
    };
    let seen = |summary: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // Shown ones are read once closed (closing keeps them in the history).
            if summaries().iter().any(|s| s == summary) {
                return;
            }
            if dunstctl(&["count", "displayed"]) != "0" {
                dunstctl(&["close-all"]);
            }
            assert!(Instant::now() < deadline, "no notification {summary:?}: {:?}", summaries());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    s.run(&["pause", "20m"]);
    seen("Protection paused for 20 minutes");
    s.run(&["resume"]);
    seen("Protection resumed");
}

/// A tool withheld for poisoning is announced with a desktop notification (through the daemon).
/// Skipped unless `MCPFW_TEST_NOTIFY` is set, like the test above.
#[test]
fn notifications_announce_a_withheld_poisoned_tool() {
    if !notification_server() {
        return;
    }
    let s = Setup::new(60);
    let before: usize = dunstctl(&["count", "history"]).parse().unwrap_or(0);
    let mut cmd = s.cmd();
    cmd.args(["wrap", "--name", "notes", "--"])
        .arg(common::python())
        .arg(common::support("rug_pull_server.py"))
        .env("RUG_PULL_POISON", "1");
    let mut shim = Shim::spawn_raw(cmd);
    shim.initialize();
    let listed = shim.request(1, "tools/list", json!({}));
    assert!(!listed.to_string().contains("send_note"), "{listed}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let newest = loop {
        let history: Value = serde_json::from_str(&dunstctl(&["history"])).unwrap();
        let shown = history["data"][0].as_array().cloned().unwrap_or_default();
        let displayed: usize = dunstctl(&["count", "displayed"]).parse().unwrap_or(0);
        if shown.len() > before || displayed > 0 {
            // Closed ones are in the history; an open one is read after closing it.
            if displayed > 0 {
                dunstctl(&["close-all"]);
                continue;
            }
            break shown[0].clone();
        }
        assert!(Instant::now() < deadline, "no notification was shown");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(newest["summary"]["data"], "Withheld notes · send_note", "{newest}");
    assert!(
        newest["body"]["data"].as_str().unwrap().contains("instructions aimed at the model"),
        "{newest}"
    );
}

/// A client that starts servers with a minimal environment (MCP's Python SDK, and so fastmcp,
/// passes on only HOME, PATH, USER and a few more: no `XDG_RUNTIME_DIR`, no `MCPFW_HOME`) makes
/// the shim compute another runtime folder than the daemon's. The shim then also looks where a
/// daemon with the default paths listens, and when there is none, says where it looked.
#[test]
fn a_shim_whose_client_dropped_its_environment_finds_the_users_daemon_or_says_where_it_looked() {
    let user = tempfile::tempdir().unwrap();
    let config = user.path().join(".config/mcpfw");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("policy.toml"),
        "[[rules]]\nid = \"ask-echo\"\ntool = \"echo\"\naction = \"ask\"\n",
    )
    .unwrap();
    let runtime = user.path().join("xdg-run");
    std::fs::create_dir_all(&runtime).unwrap();
    let proxy_port = common::free_port().to_string();
    let cmd = |runtime: Option<&Path>| {
        let mut cmd = Command::new(mcpfw());
        cmd.env("HOME", user.path())
            .env("MCPFW_KEYRING", "off")
            .env("MCPFW_PROXY_PORT", &proxy_port)
            .env_remove("MCPFW_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_STATE_HOME")
            .env_remove("XDG_RUNTIME_DIR");
        if let Some(runtime) = runtime {
            cmd.env("XDG_RUNTIME_DIR", runtime);
        }
        cmd
    };
    let shim = || {
        let mut cmd = cmd(Some(&runtime));
        cmd.args(["wrap", "--name", "ev"]).args(common::everything());
        let mut shim = Shim::spawn_raw(cmd);
        shim.initialize();
        shim
    };
    let primary = runtime.join("mcpfw/mcpfw.sock");
    let default = user.path().join(".local/share/mcpfw/run/mcpfw.sock");

    // No daemon anywhere: refused, naming each socket looked at.
    let mut lonely = shim();
    let refused = lonely.call_tool(1, "echo", json!({"message": "hi"}));
    assert!(is_refusal(&refused), "{refused}");
    for socket in [&primary, &default] {
        assert!(text(&refused).contains(&socket.display().to_string()), "{refused}");
    }
    drop(lonely);

    // The user's daemon, started without XDG_RUNTIME_DIR, listens below the data folder; the
    // shim, started with it, finds the daemon there.
    let _daemon = Setup {
        home: Home::new(),
        work: tempfile::tempdir().unwrap(),
        outside: tempfile::tempdir().unwrap(),
        // Stopped when this ends, whatever happens.
        daemon: Some(
            cmd(None)
                .args(["daemon", "--no-notify"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        ),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&default).is_err() {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut found = shim();
    send_call(&mut found, 2, "echo", json!({"message": "found you"}));
    let deadline = Instant::now() + Duration::from_secs(10);
    let pending: Vec<Value> = loop {
        let out = cmd(None).args(["pending", "--json"]).output().unwrap();
        let pending: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if !pending.is_empty() {
            break pending;
        }
        assert!(Instant::now() < deadline, "the call never reached the daemon");
        std::thread::sleep(Duration::from_millis(30));
    };
    let approved = cmd(None).args(["approve", &pending[0]["id"].to_string()]).output().unwrap();
    assert!(approved.status.success(), "{}", String::from_utf8_lossy(&approved.stderr));
    let answer = found.response(&json!(2));
    assert!(text(&answer).contains("found you"), "{answer}");
}

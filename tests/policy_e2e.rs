//! The policy engine and the decision history end to end: a real filesystem server behind
//! `mcpfw wrap`, calls refused with reasons a person can act on, every decision in
//! `mcpfw log --json`, tampering caught by `mcpfw log --verify`.
// Unix suite: it uses Unix sockets, signals, file modes or symlinks directly (docs/platforms.md).
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Home, Shim, mcpfw, npm_server, python, support};
use serde_json::{Value, json};

const PEM: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDhx9yNTuxN5zYV8Ik2ARLnR4IGGWHJ0cf0tHzJ6qGfdQAAAJgYXHW6GFx1\n-----END OPENSSH PRIVATE KEY-----\n";

/// A machine with a home folder (holding an SSH key), a work folder the server may use, and a
/// folder outside it.
struct Fixture {
    home: Home,
    user_home: tempfile::TempDir,
    work: tempfile::TempDir,
    outside: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let f = Self {
            home: Home::new(),
            user_home: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
            outside: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(f.user_home.path().join(".ssh")).unwrap();
        std::fs::write(f.user_home.path().join(".ssh/id_rsa"), PEM).unwrap();
        std::fs::write(f.work.path().join("notes.txt"), "in the root").unwrap();
        std::fs::write(f.outside.path().join("secret.txt"), "outside the root").unwrap();
        std::os::unix::fs::symlink(f.outside.path(), f.work.path().join("link")).unwrap();
        // The server is given the whole temp area; only `--root` confines it.
        f.policy("[settings]\ninfer_roots = false\n");
        f
    }

    fn mcpfw(&self) -> Command {
        let mut cmd = Command::new(mcpfw());
        cmd.env("MCPFW_HOME", self.home.path())
            .env("MCPFW_KEYRING", "off")
            .env("HOME", self.user_home.path());
        cmd
    }

    /// The filesystem server over the whole temp area (so only the firewall stands between a
    /// call and the files), wrapped with `work` as its root.
    fn files_shim(&self) -> Shim {
        let tmp_root = self.work.path().parent().unwrap().display().to_string();
        let mut cmd = self.mcpfw();
        cmd.args(["wrap", "--name", "files", "--root"])
            .arg(self.work.path())
            .arg("--")
            .arg(npm_server("mcp-server-filesystem"))
            .arg(&tmp_root)
            .arg(self.user_home.path());
        let mut shim = Shim::spawn(cmd, &self.home);
        shim.initialize();
        shim
    }

    fn policy(&self, text: &str) {
        let dir = self.home.path().join("config");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("policy.toml"), text).unwrap();
    }

    fn log_json(&self, extra: &[&str]) -> Vec<Value> {
        let mut cmd = self.mcpfw();
        cmd.args(["log", "--json"]);
        if !extra.contains(&"--limit") {
            cmd.args(["--limit", "500"]);
        }
        let out = cmd.args(extra).output().unwrap();
        assert!(out.status.success(), "mcpfw log failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line ({e}): {l}")))
            .rev() // oldest first here; `mcpfw log` prints the newest first
            .collect()
    }

    fn db(&self) -> std::path::PathBuf {
        self.home.path().join("data/mcpfw.db")
    }
}

fn refusal(response: &Value) -> String {
    assert_eq!(response["result"]["isError"], true, "expected a refused call: {response}");
    response["result"]["content"][0]["text"].as_str().unwrap().to_owned()
}

fn text(response: &Value) -> String {
    assert_ne!(response["result"]["isError"], true, "expected success: {response}");
    response["result"]["content"][0]["text"].as_str().unwrap_or_default().to_owned()
}

fn path(p: &Path, rel: &str) -> String {
    p.join(rel).display().to_string()
}

#[test]
fn risky_calls_are_refused_with_reasons_and_everything_is_in_the_history() {
    let f = Fixture::new();
    let mut shim = f.files_shim();

    // An in-root read passes.
    let ok = shim.call_tool(1, "read_text_file", json!({"path": path(f.work.path(), "notes.txt")}));
    assert_eq!(text(&ok), "in the root");

    // A write outside the roots needs approval; nobody can approve: refused, nothing written.
    let target = path(f.outside.path(), "new.txt");
    let why = refusal(&shim.call_tool(2, "write_file", json!({"path": target, "content": "x"})));
    assert!(why.contains("outside this server's roots"), "{why}");
    assert!(why.contains("no approver is running"), "{why}");
    assert!(!Path::new(&target).exists(), "the write happened anyway");

    // Reading a private key is refused outright.
    let why = refusal(&shim.call_tool(3, "read_text_file", json!({"path": "~/.ssh/id_rsa"})));
    assert!(why.contains("credential location"), "{why}");
    assert!(!why.contains("PRIVATE KEY"), "the key leaked: {why}");

    // A private key in the arguments is refused, and the file is not written.
    let keyfile = path(f.work.path(), "key.txt");
    let why = refusal(&shim.call_tool(4, "write_file", json!({"path": keyfile, "content": PEM})));
    assert!(why.contains("secret"), "{why}");
    assert!(!Path::new(&keyfile).exists());

    // Escapes through a symlink and `..` are seen through.
    let why = refusal(&shim.call_tool(
        5,
        "read_text_file",
        json!({"path": path(f.work.path(), "link/secret.txt")}),
    ));
    assert!(why.contains("outside this server's roots"), "{why}");
    // A `..` that climbs out of the roots is an attack, not a risk: refused without asking.
    let why = refusal(&shim.call_tool(6, "read_text_file", json!({"path": format!("{}/../{}/secret.txt", f.work.path().display(), f.outside.path().file_name().unwrap().to_string_lossy())})));
    assert!(why.contains("to climb out of") && why.contains("guard `traversal`"), "{why}");

    // Every decision is in the history, with who decided and why.
    let events = f.log_json(&[]);
    let calls: Vec<&Value> =
        events.iter().filter(|e| e["method"] == "tools/call" && e["kind"] == "request").collect();
    assert_eq!(calls.len(), 6, "{events:#?}");
    for key in [
        "ts",
        "server",
        "method",
        "tool",
        "category",
        "verdict",
        "decided_by",
        "reason",
        "findings",
    ] {
        assert!(calls.iter().all(|e| e.get(key).is_some()), "missing {key}");
    }
    assert_eq!(calls[0]["verdict"], "allow");
    assert_eq!(calls[0]["category"], "read");
    // A write outside the roots was held for approval; nobody could approve, so it was refused.
    assert_eq!(calls[1]["verdict"], "ask");
    assert_eq!(calls[1]["category"], "write");
    let outcome = events
        .iter()
        .find(|e| e["kind"] == "approval" && e["id"] == calls[1]["id"])
        .expect("the ask's outcome is recorded");
    assert_eq!(outcome["verdict"], "deny");
    assert!(outcome["reason"].as_str().unwrap().contains("no approver is running"));
    assert_eq!(calls[2]["verdict"], "deny");
    assert_eq!(calls[1]["decided_by"], "guard:outside-roots");
    assert_eq!(calls[2]["decided_by"], "guard:sensitive-path");
    let secret_call = calls[3];
    assert_eq!(secret_call["decided_by"], "guard:secrets");
    assert!(
        secret_call["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "secret-in-arguments")
    );
    let stored_args = secret_call["arguments"].to_string();
    assert!(
        !stored_args.contains("PRIVATE KEY") && !stored_args.contains("b3BlbnNzaC1rZXkt"),
        "secret stored: {stored_args}"
    );
    assert!(stored_args.contains("REDACTED"), "{stored_args}");
    // Filters work.
    let denied = f.log_json(&["--verdict", "deny", "--tool", "write_file"]);
    assert_eq!(denied.len(), 2, "{denied:#?}");

    // The chain verifies, and an edit with the sqlite3 CLI is caught.
    let verify = f.mcpfw().args(["log", "--verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    drop(shim);
    let seq = calls[1]["seq"].as_i64().unwrap();
    let edit = Command::new("sqlite3")
        .arg(f.db())
        .arg(format!("UPDATE events SET verdict = 'allow' WHERE seq = {seq}"))
        .status()
        .expect("sqlite3 CLI (scripts/test installs it)");
    assert!(edit.success());
    let verify = f.mcpfw().args(["log", "--verify"]).output().unwrap();
    let said = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(verify.status.code(), Some(1), "{said}");
    assert!(said.contains("TAMPERED") && said.contains(&seq.to_string()), "{said}");
}

#[test]
fn a_filesystem_server_is_confined_to_the_folders_it_was_given() {
    let f = Fixture::new();
    f.policy(""); // root inference on (the default)
    let mut cmd = f.mcpfw();
    cmd.args(["wrap", "--name", "files", "--"])
        .arg(npm_server("mcp-server-filesystem"))
        .arg(f.work.path());
    let mut shim = Shim::spawn(cmd, &f.home);
    shim.initialize();
    text(&shim.call_tool(
        1,
        "write_file",
        json!({"path": path(f.work.path(), "in.txt"), "content": "ok"}),
    ));
    let why = refusal(&shim.call_tool(
        2,
        "write_file",
        json!({"path": path(f.outside.path(), "out.txt"), "content": "no"}),
    ));
    assert!(
        why.contains("outside this server's roots")
            && why.contains(&f.work.path().display().to_string()),
        "{why}"
    );
}

#[test]
fn policy_rules_decide_and_a_broken_policy_fails_closed() {
    let f = Fixture::new();
    f.policy(
        r#"
[[rules]]
id = "no-reading-notes"
server = "files"
tool = "read_text_file"
action = "deny"
reason = "notes are private"
when.args.path = "notes"
"#,
    );
    let mut shim = f.files_shim();
    let why = refusal(&shim.call_tool(
        1,
        "read_text_file",
        json!({"path": path(f.work.path(), "notes.txt")}),
    ));
    assert!(why.contains("notes are private"), "{why}");
    let events = f.log_json(&["--verdict", "deny"]);
    assert_eq!(events[0]["decided_by"], "rule:file:no-reading-notes");
    drop(shim);

    // A broken file: `policy check` names line and column; tool calls are refused with it.
    f.policy("[[rules]]\ntool = \"x\"\naction = \"perhaps\"\n");
    let check = f.mcpfw().args(["policy", "check"]).output().unwrap();
    let err = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(1));
    assert!(err.contains("policy.toml:3:10"), "{err}");
    let mut shim = f.files_shim();
    let why = refusal(&shim.call_tool(
        2,
        "read_text_file",
        json!({"path": path(f.work.path(), "notes.txt")}),
    ));
    assert!(why.contains("policy file has an error") && why.contains("policy.toml:3:10"), "{why}");
}

#[test]
fn rules_changed_while_the_server_runs_apply_to_its_next_call() {
    let f = Fixture::new();
    let mut shim = f.files_shim();
    let notes = path(f.work.path(), "notes.txt");
    assert_eq!(text(&shim.call_tool(1, "read_text_file", json!({"path": notes}))), "in the root");

    // A database rule added now (as the dashboard or `mcpfw rules add` does) decides the
    // server's next call, without a restart.
    let add = f
        .mcpfw()
        .args(["rules", "add", "--action", "deny", "--server", "files", "--tool", "read_text_file"])
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    std::thread::sleep(Duration::from_millis(600));
    refusal(&shim.call_tool(2, "read_text_file", json!({"path": notes})));
    let events = f.log_json(&["--tool", "read_text_file", "--verdict", "deny"]);
    assert_eq!(events.last().unwrap()["decided_by"], "rule:db:1", "{events:#?}");

    // Removed: the call runs again.
    let remove = f.mcpfw().args(["rules", "remove", "1"]).output().unwrap();
    assert!(remove.status.success(), "{}", String::from_utf8_lossy(&remove.stderr));
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(text(&shim.call_tool(3, "read_text_file", json!({"path": notes}))), "in the root");

    // policy.toml edited: its new rule applies too.
    f.policy(
        "[settings]\ninfer_roots = false\n\n[[rules]]\nid = \"no-listing\"\ntool = \"list_directory\"\n\
         action = \"deny\"\nreason = \"listing is off today\"\n",
    );
    std::thread::sleep(Duration::from_millis(600));
    let dir = f.work.path().display().to_string();
    let why = refusal(&shim.call_tool(4, "list_directory", json!({"path": dir})));
    assert!(why.contains("listing is off today"), "{why}");

    // And a policy file broken while the server runs refuses every call (fail closed).
    f.policy("[[rules]]\ntool = \"x\"\naction = \"perhaps\"\n");
    std::thread::sleep(Duration::from_millis(600));
    let why = refusal(&shim.call_tool(5, "read_text_file", json!({"path": notes})));
    assert!(why.contains("policy file has an error"), "{why}");
}

#[test]
fn a_database_rule_can_allow_what_the_defaults_refuse() {
    let f = Fixture::new();
    let add = f
        .mcpfw()
        .args([
            "rules",
            "add",
            "--action",
            "allow",
            "--server",
            "files",
            "--tool",
            "write_file",
            "--lift",
            "outside-roots",
            "--path-within",
        ])
        .arg(f.outside.path())
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let list = String::from_utf8_lossy(&f.mcpfw().args(["rules", "list"]).output().unwrap().stdout)
        .into_owned();
    assert!(list.contains("db:1") && list.contains("write_file"), "{list}");
    // The server's box lets it read and write its roots only: the person widens the box for
    // that folder too, and lets it read the temp area it was given (where the filesystem
    // server lists its allowed folder). tests/containment.rs proves the box refuses otherwise.
    let tmp = f.work.path().parent().unwrap().display().to_string();
    f.policy(&format!(
        "[settings]\ninfer_roots = false\n\n[servers.files.sandbox]\nread = [{tmp:?}]\n\
         write = [{:?}]\n",
        f.outside.path().display().to_string()
    ));

    let mut shim = f.files_shim();
    let target = path(f.outside.path(), "allowed.txt");
    text(&shim.call_tool(1, "write_file", json!({"path": target, "content": "ok"})));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "ok");
    // The rule is narrow: elsewhere outside the roots still asks.
    let elsewhere = path(f.user_home.path(), "x.txt");
    refusal(&shim.call_tool(2, "write_file", json!({"path": elsewhere, "content": "no"})));
    let events = f.log_json(&["--tool", "write_file"]);
    assert_eq!(events[0]["decided_by"], "rule:db:1");

    let remove = f.mcpfw().args(["rules", "remove", "1"]).output().unwrap();
    assert!(remove.status.success());
    let test = f
        .mcpfw()
        .args([
            "rules",
            "test",
            "--server",
            "files",
            "--tool",
            "delete_file",
            "--args",
            r#"{"path":"/tmp/x"}"#,
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&test.stdout);
    assert!(said.starts_with("ask") && said.contains("delete"), "{said}");
}

#[test]
fn ten_wrappers_writing_at_once_lose_nothing_and_a_killed_one_keeps_its_decisions() {
    let f = Fixture::new();
    let server =
        vec![python().display().to_string(), support("fault_server.py").display().to_string()];
    let calls_each = 40;
    let handles: Vec<_> = (0..10)
        .map(|n| {
            let mut cmd = f.mcpfw();
            cmd.args(["wrap", "--name", &format!("w{n}"), "--"]).args(&server);
            std::thread::spawn(move || {
                let mut shim = Shim::spawn_raw(cmd);
                shim.initialize();
                for i in 0..calls_each {
                    // `frobnicate` is an unknown tool: refused and committed before the answer.
                    let r = shim.call_tool(
                        100 + i,
                        if i % 2 == 0 { "read_notes" } else { "frobnicate" },
                        json!({}),
                    );
                    assert!(r.get("result").is_some(), "{r}");
                }
                shim.close_stdin();
                shim.wait_exit(Duration::from_secs(10)).expect("wrapper exits");
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a wrapper thread failed");
    }
    let events = f.log_json(&["--all", "--limit", "100000"]);
    for n in 0..10 {
        let server = format!("w{n}");
        let requests = events
            .iter()
            .filter(|e| {
                e["server"] == server && e["method"] == "tools/call" && e["kind"] == "request"
            })
            .count();
        assert_eq!(requests, calls_each as usize, "server {server} lost events");
    }
    let verify = f.mcpfw().args(["log", "--verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));

    // kill -9 right after a refusal was answered: the refusal is already committed.
    let mut cmd = f.mcpfw();
    cmd.args(["wrap", "--name", "killed", "--"]).args(&server);
    let mut shim = Shim::spawn_raw(cmd);
    shim.initialize();
    refusal(&shim.call_tool(1, "frobnicate", json!({"marker": "before-kill"})));
    shim.child.kill().unwrap();
    shim.child.wait().unwrap();
    let events = f.log_json(&["--server", "killed"]);
    assert!(
        events.iter().any(|e| e["tool"] == "frobnicate" && e["verdict"] == "deny"),
        "{events:#?}"
    );
}

#[test]
fn reading_a_credential_as_a_resource_is_refused_too() {
    let f = Fixture::new();
    let mut shim = f.files_shim();
    let uri = format!("file://{}/.ssh/id_rsa", f.user_home.path().display());
    let answer = shim.request(7, "resources/read", json!({"uri": uri}));
    assert_eq!(answer["error"]["code"], -32001, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("credential location"), "{message}");
    assert!(!answer.to_string().contains("PRIVATE KEY"));
}

/// A call of a tool the server never listed is refused as the server would (there is no such
/// tool), not asked about as an unknown tool; and `mcpfw log --limit N` shows the newest N,
/// newest first.
#[test]
fn a_tool_the_server_never_listed_is_refused_as_such_and_the_log_shows_the_newest_first() {
    let f = Fixture::new();
    let mut shim = f.files_shim();
    let listed = shim.request(2, "tools/list", json!({}));
    assert!(listed["result"]["tools"].as_array().is_some_and(|t| !t.is_empty()), "{listed}");
    let why = refusal(&shim.call_tool(3, "read_fiel", json!({"path": "notes.txt"})));
    assert!(why.contains("this server did not offer a tool named `read_fiel`"), "{why}");
    assert!(!why.contains("approval"), "{why}");
    let notes = path(f.work.path(), "notes.txt");
    assert_eq!(text(&shim.call_tool(4, "read_text_file", json!({"path": notes}))), "in the root");
    let again = refusal(&shim.call_tool(5, "no_such_tool", json!({})));
    assert!(again.contains("`no_such_tool`"), "{again}");

    // Newest first, the newest N only; the human view too.
    let newest = f.log_json(&["--limit", "2"]);
    let tools: Vec<&str> = newest.iter().rev().map(|e| e["tool"].as_str().unwrap()).collect();
    assert_eq!(tools, ["no_such_tool", "read_text_file"], "{newest:#?}");
    let refused = newest.iter().find(|e| e["tool"] == "no_such_tool").unwrap();
    assert_eq!((&refused["verdict"], &refused["decided_by"]), (&json!("deny"), &json!("firewall")));
    let out = f.mcpfw().args(["log", "--limit", "3"]).output().unwrap();
    let human = String::from_utf8_lossy(&out.stdout);
    let order: Vec<usize> = ["no_such_tool", "read_text_file", "read_fiel"]
        .iter()
        .map(|tool| human.find(tool).unwrap_or_else(|| panic!("{tool} missing:\n{human}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "newest first:\n{human}");
}

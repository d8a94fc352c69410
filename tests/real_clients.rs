//! The real Python `mcp` SDK client drives real npm MCP servers through `mcpfw wrap`, and the
//! transcripts are compared byte for byte: what the client sent is what the server received,
//! what the server sent is what the client received, and the whole conversation is the same
//! as without the firewall.

mod common;

use std::path::Path;

use common::{Home, client_scenario, mcpfw, npm_server, python, support};
use serde_json::Value;

/// The real client that plays a scenario.
#[derive(Clone, Copy)]
enum Sdk {
    /// The PyPI `mcp` SDK (`tests/support/client.py`).
    Python,
    /// The npm `@modelcontextprotocol/sdk` (`tests/support/ts_client.mjs`; the everything
    /// scenario only).
    TypeScript,
}

/// Runs one client scenario against `server`, optionally through `mcpfw wrap`, with byte taps
/// on the client's side (`outer`) and, when wrapped, on the server's side (`inner`).
fn run_scenario(
    (sdk, scenario): (Sdk, &str),
    server: &[String],
    wrapped: bool,
    taps: &Path,
    home: &Home,
    extra: &[&str],
    env: &[(&str, &Path)],
) -> Value {
    let py = python();
    let tap = |dir: &str| {
        vec![
            py.display().to_string(),
            support("tap.py").display().to_string(),
            "--log".into(),
            taps.join(dir).display().to_string(),
            "--".into(),
        ]
    };
    let mut chain = tap("outer");
    if wrapped {
        chain.extend([
            mcpfw().display().to_string(),
            "wrap".into(),
            "--name".into(),
            scenario.into(),
        ]);
        // The server runs in its box: the inner tap's folder and the folders of the files
        // the test points it at are its roots.
        std::fs::create_dir_all(taps.join("inner")).unwrap();
        chain.extend(["--root".into(), taps.join("inner").display().to_string()]);
        for (_, value) in env {
            if let Some(parent) = value.parent() {
                chain.extend(["--root".into(), parent.display().to_string()]);
            }
        }
        chain.push("--".into());
        chain.extend(tap("inner"));
    }
    chain.extend(server.iter().cloned());
    let env: Vec<(&str, &std::ffi::OsStr)> = env.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    match sdk {
        Sdk::Python => client_scenario(home, scenario, extra, &chain, &env),
        Sdk::TypeScript => ts_scenario(home, extra, &chain),
    }
}

/// The TypeScript SDK client's scenario through `chain` (or at `--url`, in `extra`).
fn ts_scenario(home: &Home, extra: &[&str], chain: &[String]) -> Value {
    let out = std::process::Command::new(npm_server("node"))
        .arg(support("ts_client.mjs"))
        .args(extra)
        .arg("--")
        .args(chain)
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .output()
        .expect("run ts_client.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "ts_client.mjs printed no report ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["ok"], true, "the TypeScript client failed: {report}");
    report
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

/// Asserts byte equality with a readable diff of the first differing line.
fn assert_same_bytes(what: &str, left: &[u8], right: &[u8]) {
    if left == right {
        return;
    }
    let (l, r) = (String::from_utf8_lossy(left), String::from_utf8_lossy(right));
    let at = l
        .lines()
        .zip(r.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(l.lines().count().min(r.lines().count()));
    panic!(
        "{what} differ ({} vs {} bytes), first at line {at}:\n  {}\n  {}",
        left.len(),
        right.len(),
        l.lines().nth(at).unwrap_or("<end>"),
        r.lines().nth(at).unwrap_or("<end>")
    );
}

/// Runs the scenario direct and wrapped, and checks every byte of both transcripts.
fn check_transparent(
    scenario: &str,
    server: &[String],
    extra: &[&str],
    env_for_run: impl Fn(&Path) -> Vec<(&'static str, std::path::PathBuf)>,
    reset: impl Fn(),
) -> (Value, Home) {
    check_transparent_to(Sdk::Python, scenario, server, extra, env_for_run, reset)
}

/// [`check_transparent`] with the client `sdk`.
fn check_transparent_to(
    sdk: Sdk,
    scenario: &str,
    server: &[String],
    extra: &[&str],
    env_for_run: impl Fn(&Path) -> Vec<(&'static str, std::path::PathBuf)>,
    reset: impl Fn(),
) -> (Value, Home) {
    let taps = tempfile::tempdir().unwrap();
    let direct_home = Home::permissive();
    reset();
    let direct_env = env_for_run(taps.path());
    let env: Vec<(&str, &Path)> = direct_env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let direct_taps = taps.path().join("direct");
    let direct =
        run_scenario((sdk, scenario), server, false, &direct_taps, &direct_home, extra, &env);

    reset();
    let home = Home::permissive();
    let wrapped_taps = taps.path().join("wrapped");
    let wrapped = run_scenario((sdk, scenario), server, true, &wrapped_taps, &home, extra, &env);

    // Through the firewall, in the same run: byte-exact in both directions.
    let (outer, inner) = (wrapped_taps.join("outer"), wrapped_taps.join("inner"));
    assert_same_bytes(
        "client→server bytes (client side vs server side)",
        &read(&outer, "c2s.bin"),
        &read(&inner, "c2s.bin"),
    );
    assert_same_bytes(
        "server→client bytes (server side vs client side)",
        &read(&inner, "s2c.bin"),
        &read(&outer, "s2c.bin"),
    );
    // And the conversation is the one the client has without the firewall.
    let direct_dir = direct_taps.join("outer");
    assert_same_bytes(
        "client→server transcript (direct vs wrapped)",
        &read(&direct_dir, "c2s.bin"),
        &read(&outer, "c2s.bin"),
    );
    assert_same_bytes(
        "server→client transcript (direct vs wrapped)",
        &read(&direct_dir, "s2c.bin"),
        &read(&outer, "s2c.bin"),
    );
    assert_eq!(direct, wrapped, "the client observed something different through the firewall");
    (wrapped, home)
}

fn count(events: &[Value], pred: impl Fn(&Value) -> bool) -> usize {
    events.iter().filter(|e| pred(e)).count()
}

#[test]
fn everything_server_is_transparent_to_the_python_sdk_client() {
    let server = vec![npm_server("mcp-server-everything").display().to_string(), "stdio".into()];
    let (report, home) = check_transparent("everything", &server, &[], |_| vec![], || {});

    // What the client did really happened: tools, resources, prompts, progress, a server→client
    // sampling and elicitation request, and a cancellation.
    assert_eq!(report["echo"]["text"], "Echo: hello firewall");
    assert_eq!(report["image"]["mime_type"], "image/png");
    assert!(report["resources"]["read_text_len"].as_u64().unwrap() > 0);
    assert!(report["prompts"]["message_count"].as_u64().unwrap() > 0);
    assert_eq!(report["progress"]["values"], serde_json::json!([1.0, 2.0, 3.0]));
    assert_eq!(report["sampling"]["callback_invoked"], 1);
    assert_eq!(report["elicitation"]["callback_invoked"], 1);
    assert_eq!(report["cancellation"]["cancelled"], true);
    assert_eq!(report["cancellation"]["echo_after"], "Echo: after cancel");

    // Every message was recorded, correlated in both directions.
    let events = home.wait_events("the session's last echo", |e| {
        e.iter().any(|e| {
            e["tool"] == "echo" && e["kind"] == "result" && e["direction"] == "server_to_client"
        })
    });
    let echo_result = events
        .iter()
        .find(|e| e["kind"] == "result" && e["tool"] == "echo")
        .expect("echo result recorded");
    assert_eq!(echo_result["method"], "tools/call");
    assert!(echo_result["latency_us"].as_u64().is_some(), "{echo_result}");
    assert_eq!(echo_result["era"], "handshake");
    assert_eq!(echo_result["protocol_version"], "2025-11-25");
    // The server's sampling request and the client's answer to it are matched by id.
    assert_eq!(
        count(&events, |e| e["method"] == "sampling/createMessage"
            && e["direction"] == "server_to_client"
            && e["kind"] == "request"),
        1
    );
    assert_eq!(
        count(&events, |e| e["method"] == "sampling/createMessage"
            && e["direction"] == "client_to_server"
            && e["kind"] == "result"),
        1
    );
    assert_eq!(count(&events, |e| e["method"] == "elicitation/create" && e["kind"] == "result"), 1);
    assert!(count(&events, |e| e["method"] == "notifications/progress") >= 3);
    let cancel = events
        .iter()
        .find(|e| e["method"] == "notifications/cancelled")
        .expect("cancellation recorded");
    let cancelled_call = events
        .iter()
        .find(|e| e["kind"] == "request" && e["id"] == cancel["cancels"])
        .expect("the cancelled request was recorded");
    assert_eq!(cancelled_call["tool"], "trigger-long-running-operation");
    assert_eq!(
        count(&events, |e| ["deny", "reject", "drop"]
            .contains(&e["verdict"].as_str().unwrap_or(""))),
        0,
        "nothing was refused"
    );
    // Calls of unknown effect (the trigger-* tools) were held for approval; with nobody to ask,
    // this test's policy lets them through, and each hold has its recorded outcome.
    let asks = count(&events, |e| e["verdict"] == "ask");
    assert!(asks > 0);
    assert_eq!(count(&events, |e| e["kind"] == "approval" && e["verdict"] == "allow"), asks);
    let c2s_lines = count(&events, |e| e["direction"] == "client_to_server");
    assert!(c2s_lines >= 15, "only {c2s_lines} client messages recorded");
}

/// The TypeScript SDK client (what Claude Code, Cursor and most Node clients are built on) sees
/// the same conversation, byte for byte, direct and through `mcpfw wrap`.
#[test]
fn everything_server_is_transparent_to_the_typescript_sdk_client() {
    let server = vec![npm_server("mcp-server-everything").display().to_string(), "stdio".into()];
    let (report, home) =
        check_transparent_to(Sdk::TypeScript, "everything", &server, &[], |_| vec![], || {});
    assert_eq!(report["echo"]["text"], "Echo: hello firewall");
    assert_eq!(report["sum"]["text"], "The sum of 2 and 3 is 5.");
    assert_eq!(report["image"]["mimeType"], "image/png");
    assert!(report["tools"].as_array().is_some_and(|t| t.len() >= 10), "{report}");
    let events = home.wait_events("the TypeScript client's calls are recorded", |events| {
        count(events, |e| e["method"] == "tools/call" && e["direction"] == "client_to_server") >= 3
    });
    assert!(events.iter().any(|e| e["tool"] == "get-tiny-image"));
}

#[test]
fn filesystem_server_is_transparent_and_still_confines_reads() {
    let root = tempfile::tempdir().unwrap();
    let root_path = root.path().to_path_buf();
    let server = vec![
        npm_server("mcp-server-filesystem").display().to_string(),
        root_path.display().to_string(),
    ];
    let reset = || {
        for entry in std::fs::read_dir(&root_path).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    };
    let root_arg = root_path.display().to_string();
    let (report, home) =
        check_transparent("filesystem", &server, &["--root", &root_arg], |_| vec![], reset);
    assert_eq!(report["write"]["on_disk_matches"], true);
    assert_eq!(report["read"]["matches"], true);
    assert_eq!(report["outside"]["is_error"], true);
    assert_eq!(report["outside"]["leaked"], false);
    let events = home.wait_events("write_file recorded", |e| {
        e.iter().any(|e| e["tool"] == "write_file" && e["kind"] == "result")
    });
    assert!(events.iter().any(|e| e["tool"] == "read_text_file" && e["kind"] == "request"));
}

#[test]
fn memory_server_is_transparent() {
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("memory.jsonl");
    let server = vec![npm_server("mcp-server-memory").display().to_string()];
    let reset = || {
        let _ = std::fs::remove_file(&file);
    };
    let (report, _home) = check_transparent(
        "memory",
        &server,
        &[],
        |_| vec![("MEMORY_FILE_PATH", file.clone())],
        reset,
    );
    assert_eq!(report["search_nodes"]["entities"], serde_json::json!(["Alice"]));
    assert_eq!(report["read_graph_after_delete"]["entities"], serde_json::json!([]));
}

#[test]
fn stateless_era_server_is_identified_and_relayed() {
    let py = python();
    let server = vec![py.display().to_string(), support("modern_server.py").display().to_string()];
    let taps = tempfile::tempdir().unwrap();
    let home = Home::permissive();
    let report = run_scenario((Sdk::Python, "echo"), &server, true, taps.path(), &home, &[], &[]);
    assert_eq!(report["protocol_version"], "2026-07-28");
    assert_eq!(report["echo"]["text"], "Echo: hello firewall");
    assert_same_bytes(
        "c2s",
        &read(&taps.path().join("outer"), "c2s.bin"),
        &read(&taps.path().join("inner"), "c2s.bin"),
    );
    assert_same_bytes(
        "s2c",
        &read(&taps.path().join("inner"), "s2c.bin"),
        &read(&taps.path().join("outer"), "s2c.bin"),
    );
    let events = home.wait_events("echo result", |e| {
        e.iter().any(|e| e["tool"] == "echo" && e["kind"] == "result")
    });
    let call = events.iter().find(|e| e["tool"] == "echo" && e["kind"] == "request").unwrap();
    assert_eq!(call["era"], "stateless", "{call}");
    assert_eq!(call["protocol_version"], "2026-07-28");
    let discover =
        events.iter().find(|e| e["method"] == "server/discover" && e["kind"] == "result").unwrap();
    assert_eq!(discover["era"], "stateless");
}

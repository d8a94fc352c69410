//! The wrapped server's lifecycle: exit codes, stderr, crashes, client disconnects, signals,
//! command resolution, and what the server may see of the firewall.
// Unix suite: it uses Unix sockets, signals, file modes or symlinks directly (docs/platforms.md).
#![cfg(unix)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Home, Shim, alive, everything, mcpfw, tool_text};
use serde_json::{Value, json};

fn sh(script: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), script.into()]
}

/// The pid of the wrapped server, from the shim's log.
fn server_pid(home: &Home) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(home.path().join("logs/mcpfw.jsonl")).unwrap_or_default();
        if let Some(pid) = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["message"] == "server started")
            .and_then(|v| v["pid"].as_u64())
        {
            return pid as u32;
        }
        assert!(Instant::now() < deadline, "no 'server started' in the log");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exits_with_the_servers_code_and_passes_its_stderr_through() {
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &[], &sh("read line; echo 'boom: bad config' >&2; exit 3"));
    shim.send_raw(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
    let status = shim.wait_exit(Duration::from_secs(10)).expect("mcpfw exits when the server does");
    assert_eq!(status.code(), Some(3));
    std::thread::sleep(Duration::from_millis(100));
    assert!(shim.stderr_text().contains("boom: bad config"));
}

#[test]
fn a_crashed_server_ends_the_session_with_its_signal() {
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &[], &everything());
    shim.initialize();
    let pid = server_pid(&home);
    // SAFETY: kill(2) on the server we started; no memory is involved.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let status = shim.wait_exit(Duration::from_secs(10)).expect("mcpfw exits after the crash");
    assert_eq!(status.code(), Some(128 + libc::SIGKILL));
    assert!(!alive(pid));
}

#[test]
fn client_disconnect_gives_the_server_eof_and_leaves_no_process() {
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &["--shutdown-grace-ms", "500"], &everything());
    shim.initialize();
    let pid = server_pid(&home);
    let started = Instant::now();
    shim.close_stdin();
    let status =
        shim.wait_exit(Duration::from_secs(10)).expect("mcpfw exits after the client leaves");
    assert!(started.elapsed() < Duration::from_secs(6), "took {:?}", started.elapsed());
    assert!(status.code().is_some() || status.signal_or_none().is_some());
    assert!(!alive(pid), "server {pid} outlived the session");
}

#[test]
fn a_server_that_ignores_eof_and_sigterm_is_killed_after_the_grace_periods() {
    let home = Home::permissive();
    // The marker is in a folder the server has as its root (the box lets it write only there).
    let dir = tempfile::tempdir().unwrap();
    let marker = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
    let root = dir.path().display().to_string();
    let script = format!(
        "trap 'echo term >> {m}' TERM; echo ready >> {m}; while true; do sleep 0.05; done",
        m = marker.path().display()
    );
    let mut shim =
        Shim::start(&home, &["--shutdown-grace-ms", "300", "--root", &root], &sh(&script));
    let pid = server_pid(&home);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(marker.path()).unwrap().contains("ready") {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    shim.close_stdin();
    let status = shim.wait_exit(Duration::from_secs(10)).expect("mcpfw gives up on the server");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(550) && took < Duration::from_secs(6), "took {took:?}");
    assert_eq!(status.code(), Some(128 + libc::SIGKILL));
    assert!(std::fs::read_to_string(marker.path()).unwrap().contains("term"), "SIGTERM came first");
    assert!(!alive(pid));
}

#[test]
fn sigterm_to_the_shim_is_forwarded_to_the_server() {
    let home = Home::permissive();
    // The marker is in a folder the server has as its root (the box lets it write only there).
    let dir = tempfile::tempdir().unwrap();
    let marker = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
    let root = dir.path().display().to_string();
    let script = format!(
        "trap 'echo got-term > {m}; exit 0' TERM; echo ready > {m}; while true; do sleep 0.05; done",
        m = marker.path().display()
    );
    let mut shim = Shim::start(&home, &["--root", &root], &sh(&script));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(marker.path()).unwrap().contains("ready") {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: kill(2) on the mcpfw process this test started.
    unsafe { libc::kill(shim.child.id() as i32, libc::SIGTERM) };
    let status = shim.wait_exit(Duration::from_secs(10)).expect("mcpfw exits");
    assert_eq!(std::fs::read_to_string(marker.path()).unwrap().trim(), "got-term");
    assert_eq!(status.code(), Some(0), "the server's own exit code");
}

#[test]
fn an_unknown_command_says_where_it_looked() {
    let home = Home::permissive();
    let out = Command::new(mcpfw())
        .args(["wrap", "--", "no-such-mcp-server-xyz", "--flag"])
        .env("MCPFW_HOME", home.path())
        .env("PATH", "/nonexistent-dir")
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot find the server command `no-such-mcp-server-xyz`"), "{stderr}");
    assert!(
        stderr.contains("/nonexistent-dir")
            && stderr.contains(".volta/bin")
            && stderr.contains("/usr/local/bin"),
        "{stderr}"
    );
}

#[test]
fn a_command_given_as_one_string_works() {
    let home = Home::permissive();
    let joined = everything().join(" ");
    let mut shim = Shim::start(&home, &[], &[joined]);
    let init = shim.initialize();
    assert!(init["result"]["serverInfo"]["name"].is_string(), "{init}");
}

#[test]
fn the_server_sees_none_of_the_firewalls_environment() {
    let home = Home::permissive();
    let mut cmd = Command::new(mcpfw());
    cmd.arg("wrap")
        .arg("--")
        .args(everything())
        .env("MCPFW_SECRET_FOR_TEST", "s3cret")
        .env("OTHER_VAR_FOR_TEST", "kept");
    let mut shim = Shim::spawn(cmd, &home);
    shim.initialize();
    let env = shim.call_tool(1, "get-env", json!({}));
    let text = tool_text(&env);
    assert!(text.contains("OTHER_VAR_FOR_TEST"), "the server's environment is passed on: {text}");
    assert!(!text.contains("MCPFW_"), "firewall variables leaked to the server: {text}");
}

trait SignalOrNone {
    fn signal_or_none(&self) -> Option<i32>;
}

impl SignalOrNone for std::process::ExitStatus {
    fn signal_or_none(&self) -> Option<i32> {
        std::os::unix::process::ExitStatusExt::signal(self)
    }
}

/// Clients' argument parsers drop the `--` (the MCP Inspector's `--cli`, Gemini CLI's
/// `mcp add`, which also eats `--name x`): the server command then starts at the first word
/// that is not one of wrap's options, and every word after it is the server's.
#[test]
fn the_server_command_may_come_without_its_double_dash() {
    let home = Home::permissive();
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "ev"]).args(everything());
    let mut shim = Shim::spawn(cmd, &home);
    let init = shim.initialize();
    assert!(init["result"]["serverInfo"]["name"].is_string(), "{init}");
    let echo = shim.call_tool(2, "echo", json!({"message": "hi"}));
    assert!(tool_text(&echo).contains("hi"), "{echo}");
    home.wait_events("the call, under the name given", |events| {
        events.iter().any(|e| e["server"] == "ev" && e["tool"] == "echo")
    });

    // The server's own options, even ones named like wrap's, stay the server's, with or
    // without `--`.
    let script = "echo \"args: $*\" >&2; exit 5";
    for with_dash in [false, true] {
        let mut cmd = Command::new(mcpfw());
        cmd.args(["wrap", "--name", "probe"]);
        if with_dash {
            cmd.arg("--");
        }
        let out = cmd
            .args(["/bin/sh", "-c", script, "sh", "--name", "z", "--root", "-y"])
            .env("MCPFW_HOME", home.path())
            .env("MCPFW_KEYRING", "off")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "with `--`: {with_dash}: {stderr}");
        assert!(stderr.contains("args: --name z --root -y"), "{stderr}");
    }
}

#[test]
fn wrap_words_that_cannot_be_read_either_way_are_refused_with_the_fix() {
    let home = Home::new();
    let run = |args: &[&str]| {
        let out = Command::new(mcpfw())
            .arg("wrap")
            .args(args)
            .env("MCPFW_HOME", home.path())
            .env("MCPFW_KEYRING", "off")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // An option wrap does not know, before the server's program.
    let (code, stderr) = run(&["--name", "x", "-y", "@modelcontextprotocol/server-memory"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`-y` is not an option of mcpfw wrap"), "{stderr}");
    assert!(stderr.contains("put `--` right before the server's program"), "{stderr}");
    // Wrap's options after `--`, where the server's program should be.
    let (code, stderr) = run(&["--", "--name", "x", "srv"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`--name` is an option of mcpfw wrap: put it before `--`"), "{stderr}");
    // No server command at all.
    let (code, stderr) = run(&["--name", "x"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("<COMMAND>"), "{stderr}");
    assert!(!home.path().join("data/mcpfw.db").exists(), "nothing ran");
}

/// The real MCP Inspector in CLI mode (`@modelcontextprotocol/inspector`, pinned in
/// tests/peers) drops the first `--` of `--cli mcpfw wrap --name x -- server …` and starts the
/// server with a minimal environment (no `MCPFW_HOME`): the tools are listed and called through
/// the firewall all the same, and recorded under the name given.
#[test]
fn the_mcp_inspectors_cli_mode_lists_and_calls_tools_through_wrap() {
    let home = tempfile::tempdir().unwrap();
    let inspector = |method: &[&str]| {
        let out = Command::new(common::npm_server("mcp-inspector"))
            .arg("--cli")
            .arg(mcpfw())
            .args(["wrap", "--name", "inspected", "--"])
            .args(everything())
            .args(method)
            .env("HOME", home.path())
            .env_remove("MCPFW_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_STATE_HOME")
            .env("MCPFW_KEYRING", "off")
            .current_dir(home.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "inspector {method:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json = &stdout[stdout.find('{').unwrap_or_else(|| panic!("{stdout}"))..];
        serde_json::from_str::<Value>(json).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    };
    let tools = inspector(&["--method", "tools/list"]);
    assert!(tools["tools"].as_array().unwrap().iter().any(|t| t["name"] == "echo"), "{tools}");
    let echoed = inspector(&[
        "--method",
        "tools/call",
        "--tool-name",
        "echo",
        "--tool-arg",
        "message=through the firewall",
    ]);
    assert_eq!(echoed["content"][0]["text"], "Echo: through the firewall", "{echoed}");
    // The history is where a shim without MCPFW_HOME keeps it (below this HOME).
    let log = Command::new(mcpfw())
        .args(["log", "--json", "--tool", "echo"])
        .env("HOME", home.path())
        .env_remove("MCPFW_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
        .env("MCPFW_KEYRING", "off")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("\"server\":\"inspected\""), "{log}");
}

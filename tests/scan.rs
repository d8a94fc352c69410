//! `mcpfw scan`: audits real servers offline — from the command line or from a client's
//! configuration, local (stdio) or remote (Streamable HTTP) — reporting findings and tools that
//! changed since they were pinned.

mod common;

use std::process::Command;

use common::{
    Background, Home, Shim, free_port, mcpfw, npm_server, python, support, wait_listening,
};
use serde_json::{Value, json};

fn scan(home: &Home, user_home: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(mcpfw())
        .arg("scan")
        .args(args)
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .env("HOME", user_home)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_clean_official_server_scans_clean_and_a_missing_one_is_an_error() {
    let home = Home::new();
    let user = tempfile::tempdir().unwrap();
    let fs = npm_server("mcp-server-filesystem").display().to_string();
    let dir = user.path().display().to_string();
    let (code, out) = scan(&home, user.path(), &["--", &fs, &dir]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("14 tools") && out.contains("nothing found"), "{out}");
    // The everything server: tools, prompts, resources and instructions, all clean.
    let everything = npm_server("mcp-server-everything").display().to_string();
    let (code, out) = scan(&home, user.path(), &["--", &everything]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4 prompts") && out.contains("nothing found"), "{out}");
    let (code, out) = scan(&home, user.path(), &["--", "/no/such/server"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("could not be scanned"), "{out}");
}

#[test]
fn a_configured_server_whose_tool_changed_since_it_was_pinned_is_reported() {
    let home = Home::permissive();
    // Pinned through `mcpfw wrap`, as a protected client would run it.
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "weather", "--"]).arg(python()).arg(support("rug_pull_server.py"));
    let mut shim = Shim::spawn(cmd, &home);
    shim.initialize();
    assert_eq!(
        shim.request(1, "tools/list", json!({}))["result"]["tools"].as_array().unwrap().len(),
        3
    );
    drop(shim);

    // The user's Cursor configuration now starts it with a changed tool.
    let user = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(user.path().join(".cursor")).unwrap();
    let config = json!({"mcpServers": {"weather": {
        "command": mcpfw(),
        "args": ["wrap", "--name", "weather", "--", python(), support("rug_pull_server.py")],
        "env": {"RUG_PULL_CHANGED": "1"}
    }}});
    std::fs::write(user.path().join(".cursor/mcp.json"), config.to_string()).unwrap();
    let (code, out) = scan(&home, user.path(), &["--client", "cursor"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("get_weather: changed since it was pinned"), "{out}");
    let (code, out) = scan(&home, user.path(), &["--client", "cursor", "--json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(report["pins"]["get_weather"], "changed");
    assert_eq!(report["pins"]["add"], "pinned");
    assert_eq!(report["server_info"]["name"], "rug-pull");
    assert_eq!(report["findings"], json!([]));
    // Scanning pinned nothing and changed nothing.
    let (_, out) = scan(&home, user.path(), &["--client", "cursor"]);
    assert!(out.contains("get_weather: changed since it was pinned"), "{out}");
}

#[test]
fn a_poisoned_tool_is_reported_with_its_rule_and_evidence() {
    let home = Home::new();
    let user = tempfile::tempdir().unwrap();
    let out = Command::new(mcpfw())
        .args(["scan", "--json", "--"])
        .arg(python())
        .arg(support("rug_pull_server.py"))
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .env("HOME", user.path())
        .env("RUG_PULL_POISON", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["where"] == "tool send_note"), "{findings:?}");
    assert!(findings.iter().any(|f| f["kind"] == "credential-access"
        && f["severity"] == "block"
        && f["evidence"].as_str().unwrap().contains("~/.cursor/")));
}

/// A real server listening on 127.0.0.1, stopped (its process group) when dropped.
struct Listening {
    _server: Background,
    port: u16,
}

impl Listening {
    fn start(command: Command, port: u16) -> Self {
        let server = Background::start(command);
        wait_listening(port, "the server");
        Listening { _server: server, port }
    }

    /// server-everything in its Streamable HTTP mode.
    fn everything() -> Self {
        let port = free_port();
        let mut command = Command::new(npm_server("mcp-server-everything"));
        command.arg("streamableHttp").env("PORT", port.to_string());
        Self::start(command, port)
    }

    /// The Python SDK server with a poisoned tool (`send_note`), over Streamable HTTP.
    fn poisoned() -> Self {
        let port = free_port();
        let mut command = Command::new(python());
        command
            .arg(support("rug_pull_server.py"))
            .args(["--http", &port.to_string()])
            .env("RUG_PULL_POISON", "1");
        Self::start(command, port)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }
}

/// A stateless-era server that takes longer to start than the `server/discover` probe waits
/// (a launcher fetching its package, a loaded machine) refuses the handshake tried next: it is
/// asked again and scanned in its era, instead of "could not be scanned".
#[test]
fn a_stateless_era_server_slow_to_start_is_still_scanned() {
    let home = Home::new();
    let user = tempfile::tempdir().unwrap();
    let slow = format!(
        "sleep 3.5; exec '{}' '{}'",
        python().display(),
        support("modern_server.py").display()
    );
    let (code, out) = scan(&home, user.path(), &["--json", "--", "sh", "-c", &slow]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["protocol"], "2026-07-28", "{report}");
    assert!(report["tools"].as_array().unwrap().iter().any(|t| t["name"] == "echo"), "{report}");
}

/// A 2026-07-28 server (the Python SDK's, stateless: no `initialize`) is found by its
/// `server/discover` answer and listed with the era's `_meta`, over stdio and over HTTP; the
/// everything server (2025-11-25) refuses the probe and is listed after the handshake.
#[test]
fn a_stateless_era_server_is_scanned_after_server_discover() {
    let home = Home::new();
    let user = tempfile::tempdir().unwrap();
    let modern =
        [python().display().to_string(), support("modern_server.py").display().to_string()];
    let (code, out) = scan(&home, user.path(), &["--json", "--", &modern[0], &modern[1]]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["protocol"], "2026-07-28", "{report}");
    assert_eq!(report["server_info"]["name"], "modern-echo", "{report}");
    let tools: Vec<&str> =
        report["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(tools.contains(&"echo") && tools.contains(&"book_table"), "{report}");
    assert!(report["findings"].as_array().unwrap().is_empty(), "{report}");

    let port = free_port();
    let mut server = Command::new(python());
    server.arg(support("modern_server.py")).args(["--http", &port.to_string()]);
    let _server = Background::start(server);
    wait_listening(port, "the stateless server");
    let url = format!("http://127.0.0.1:{port}/mcp");
    let (code, out) = scan(&home, user.path(), &["--json", "--url", &url]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["protocol"], "2026-07-28", "{report}");
    assert!(report["tools"].as_array().unwrap().iter().any(|t| t["name"] == "echo"), "{report}");

    let everything = npm_server("mcp-server-everything").display().to_string();
    let (code, out) = scan(&home, user.path(), &["--json", "--", &everything]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["protocol"], "2025-11-25", "{report}");
}

#[test]
fn a_remote_server_is_scanned_over_streamable_http() {
    let home = Home::new();
    let user = tempfile::tempdir().unwrap();
    // The real everything server, by its address: listed over HTTP, clean.
    let everything = Listening::everything();
    let (code, out) = scan(&home, user.path(), &["--url", &everything.url()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("prompts") && out.contains("nothing found"), "{out}");
    assert!(out.contains(&format!("at {}", everything.url())), "{out}");
    let (code, out) = scan(&home, user.path(), &["--url", &everything.url(), "--json"]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(report["tools"].as_array().unwrap().len() >= 5, "{report}");
    assert!(report["pins"].as_object().unwrap().values().all(|s| s == "new"), "{report}");

    // A poisoned remote server in the user's Cursor configuration, with a header from the
    // environment: its poisoned tool is reported with the rule's evidence, exit status 1.
    let poisoned = Listening::poisoned();
    std::fs::create_dir_all(user.path().join(".cursor")).unwrap();
    let config = json!({"mcpServers": {"notes": {
        "url": poisoned.url(),
        "headers": {"Authorization": "Bearer ${SCAN_TEST_TOKEN}"}
    }}});
    std::fs::write(user.path().join(".cursor/mcp.json"), config.to_string()).unwrap();
    let out = Command::new(mcpfw())
        .args(["scan", "--client", "cursor", "--json"])
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .env("HOME", user.path())
        .env("SCAN_TEST_TOKEN", "t0ken")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["server"], "notes");
    assert_eq!(report["server_info"]["name"], "rug-pull");
    assert_eq!(report["url"], poisoned.url());
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["where"] == "tool send_note"
            && f["kind"] == "credential-access"
            && f["severity"] == "block"
            && f["evidence"].as_str().unwrap().contains("~/.cursor/")),
        "{findings:?}"
    );

    // A server that is gone is an error (exit status 2), said as such.
    drop(everything);
    let gone = format!("http://127.0.0.1:{}/mcp", free_port());
    let (code, out) = scan(&home, user.path(), &["--url", &gone, "--timeout", "5"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("could not be scanned") && out.contains("cannot reach"), "{out}");
}

#[test]
fn an_entry_routed_through_the_proxy_is_scanned_at_its_real_server() {
    let home = Home::new();
    let user = tempfile::tempdir().unwrap();
    let poisoned = Listening::poisoned();
    // `mcpfw install` would have done this: the server behind the proxy as `notes`, and the
    // client's entry pointed at the proxy's route with the client's token. No proxy runs: the
    // scan must go to the server itself, not through the route.
    let proxy_port = free_port().to_string();
    let run = |args: &[&str]| {
        let out = Command::new(mcpfw())
            .args(args)
            .env("MCPFW_HOME", home.path())
            .env("MCPFW_KEYRING", "off")
            .env("MCPFW_PROXY_PORT", &proxy_port)
            .env("HOME", user.path())
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = run(&["proxy", "add", "notes", &poisoned.url(), "--client", "cursor"]);
    assert_eq!(code, 0, "{out}");
    let registry: Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join("data/proxy.json")).unwrap(),
    )
    .unwrap();
    let token = registry["clients"]["cursor"].as_str().unwrap().to_owned();
    let route = format!("http://127.0.0.1:{proxy_port}/s/notes/mcp");
    std::fs::create_dir_all(user.path().join(".cursor")).unwrap();
    let config =
        json!({"mcpServers": {"my-notes": {"url": route, "headers": {"X-MCPFW-Token": token}}}});
    std::fs::write(user.path().join(".cursor/mcp.json"), config.to_string()).unwrap();
    let (code, out) = run(&["scan", "--client", "cursor"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("notes (cursor:") && out.contains("through MCP Firewall's proxy"),
        "{out}"
    );
    assert!(out.contains(&format!("at {}", poisoned.url())), "{out}");
    assert!(out.contains("credential-access [block] in tool send_note"), "{out}");
    // The proxy's address given by hand is scanned at the server behind it too.
    let (code, out) = run(&["scan", "--url", &route]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("at {}", poisoned.url())), "{out}");
}

#[test]
fn plain_http_to_another_machine_is_not_scanned() {
    let home = Home::new();
    let user = tempfile::tempdir().unwrap();
    let (code, out) = scan(&home, user.path(), &["--url", "http://mcp.invalid/mcp"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("plain HTTP"), "{out}");
    let (code, out) = scan(&home, user.path(), &["--url", "ftp://mcp.example.com/mcp"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("only https: and http: are allowed"), "{out}");
}

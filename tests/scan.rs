//! `mcpfw scan`: audits real servers offline — from the command line or from a client's
//! configuration — reporting findings and tools that changed since they were pinned.

mod common;

use std::process::Command;

use common::{Home, Shim, mcpfw, npm_server, python, support};
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

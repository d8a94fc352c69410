//! The organisation policy end to end: a bundle signed with a real minisign key (the `minisign`
//! crate), served over loopback HTTP, fetched by `mcpfw org refresh`, enforced over a local
//! allow rule on a real call through `mcpfw wrap` (the reference `everything` server); a
//! tampered, an expired and an unreachable bundle each leave the last good one in force and say
//! so. And the systemd user unit `mcpfw daemon --install-unit` writes, checked by
//! `systemd-analyze verify`.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Home, Shim, everything, mcpfw};
use serde_json::{Value, json};

/// A loopback HTTP server of a few files, changeable while it runs.
struct Files {
    port: u16,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl Files {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let served = files.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let body = served.lock().unwrap().get(&path).cloned();
                let (status, body) = match body {
                    Some(body) => ("200 OK", body),
                    None => ("404 Not Found", b"not found".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
            }
        });
        Self { port, files }
    }

    fn put(&self, path: &str, bytes: &[u8]) {
        self.files.lock().unwrap().insert(path.to_owned(), bytes.to_vec());
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// `mcpfw daemon` on this home, stopped when dropped.
struct Daemon {
    child: Child,
    port: u16,
    token: String,
}

impl Daemon {
    fn start(home: &Home) -> Self {
        let _ = std::fs::remove_file(home.path().join("run/api.json"));
        let child = Command::new(mcpfw())
            .args(["daemon", "--no-notify"])
            .env("MCPFW_HOME", home.path())
            .env("MCPFW_KEYRING", "off")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = loop {
            if let Ok(text) = std::fs::read_to_string(home.path().join("run/api.json"))
                && let Ok(v) = serde_json::from_str::<Value>(&text)
            {
                break v["url"].as_str().unwrap().to_owned();
            }
            assert!(Instant::now() < deadline, "the daemon wrote no api.json");
            std::thread::sleep(Duration::from_millis(20));
        };
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        let token = std::fs::read_to_string(home.path().join("config/approver.token")).unwrap();
        Self { child, port, token: token.trim().to_owned() }
    }

    /// One request; `authorized` adds the approver token. Returns (status, body).
    fn request(&self, method: &str, path: &str, authorized: bool, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut text = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        if authorized {
            text.push_str(&format!("Authorization: Bearer {}\r\n", self.token));
        }
        text.push_str("\r\n");
        text.push_str(body);
        stream.write_all(text.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        (head.split_whitespace().nth(1).unwrap().parse().unwrap(), body.to_owned())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Signer {
    keys: minisign::KeyPair,
}

impl Signer {
    fn new() -> Self {
        Self { keys: minisign::KeyPair::generate_unencrypted_keypair().unwrap() }
    }

    fn public_key(&self) -> String {
        self.keys.pk.to_base64()
    }

    fn sign(&self, bundle: &str) -> String {
        minisign::sign(Some(&self.keys.pk), &self.keys.sk, bundle.as_bytes(), None, None)
            .unwrap()
            .into_string()
    }
}

fn bundle(version: u64, expires: &str) -> String {
    format!(
        "version = {version}\nissued = \"2026-01-01T00:00:00Z\"\nexpires = \"{expires}\"\n\n\
         [settings]\napproval_timeout_max_s = 300\n\n\
         [sandbox]\nmode = \"enforce\"\n\n\
         [[rules]]\nid = \"no-echo\"\ntool = \"echo\"\naction = \"deny\"\n\
         reason = \"echo is not approved by the security team\"\n"
    )
}

fn run(home: &Home, args: &[&str]) -> Output {
    Command::new(mcpfw())
        .args(args)
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .env_remove("MCPFW_ORG_POLICY")
        .env_remove("MCPFW_ORG_KEY")
        .output()
        .unwrap()
}

fn org_status(home: &Home) -> Value {
    let out = run(home, &["org", "status", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn refresh_fails(home: &Home, why: &str) {
    let out = run(home, &["org", "refresh"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(why), "expected `{why}` in: {stderr}");
    assert!(
        stderr.contains("the last good organisation policy (version 1) stays in force"),
        "{stderr}"
    );
    let s = org_status(home);
    assert_eq!(s["version"], 1, "{s}");
    assert!(s["last_error"].as_str().unwrap().contains(why), "{s}");
}

/// A call of `echo`, which the local policy allows, through a fresh shim.
fn echo(home: &Home) -> (Value, String) {
    let mut shim = Shim::start(home, &["--name", "every"], &everything());
    shim.initialize();
    let response = shim.call_tool(2, "echo", json!({"message": "hello"}));
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(10));
    (response, shim.stderr_text())
}

#[test]
fn a_signed_organisation_policy_is_a_floor_and_a_bad_one_leaves_the_last_good_in_force() {
    let files = Files::start();
    let signer = Signer::new();
    let home = Home::new();
    let local = format!(
        "[organisation]\nsource = \"{}\"\npublic_key = \"{}\"\nrefresh = \"1h\"\n\n\
         [servers.every.sandbox]\nmode = \"off\"\n\n\
         [[rules]]\nid = \"echo-ok\"\ntool = \"echo\"\naction = \"allow\"\n",
        files.url("/org/policy.toml"),
        signer.public_key()
    );
    home.policy(&local);

    // Before any bundle, the local allow rule decides, also in a server that keeps running.
    let (response, _) = echo(&home);
    assert_eq!(common::tool_text(&response), "Echo: hello", "{response}");
    let mut running = Shim::start(&home, &["--name", "every"], &everything());
    running.initialize();
    let response = running.call_tool(1, "echo", json!({"message": "hello"}));
    assert_eq!(common::tool_text(&response), "Echo: hello", "{response}");
    let s = org_status(&home);
    assert_eq!((s["configured"].clone(), s["version"].clone()), (json!(true), Value::Null), "{s}");

    // Version 1, signed: fetched over loopback HTTP and in force.
    let v1 = bundle(1, "2099-01-01T00:00:00Z");
    files.put("/org/policy.toml", v1.as_bytes());
    files.put("/org/policy.toml.minisig", signer.sign(&v1).as_bytes());
    // A publisher checks it first.
    let draft = tempfile::tempdir().unwrap();
    let draft_file = draft.path().join("policy.toml");
    std::fs::write(&draft_file, &v1).unwrap();
    std::fs::write(draft.path().join("policy.toml.minisig"), signer.sign(&v1)).unwrap();
    let key = signer.public_key();
    let draft_path = draft_file.display().to_string();
    let out = run(&home, &["org", "check", &draft_path, "--key", &key]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("OK, version 1"), "{stdout}");
    std::fs::write(&draft_file, v1.replace("deny", "ask")).unwrap();
    let out = run(&home, &["org", "check", &draft_path, "--key", &key]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature does not match"));

    let out = run(&home, &["org", "refresh"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("version 1 is in force"));
    // The server that was already running follows the new bundle from its next call.
    std::thread::sleep(Duration::from_millis(600));
    let response = running.call_tool(2, "echo", json!({"message": "hello"}));
    assert_eq!(response["result"]["isError"], true, "{response}");
    assert!(common::tool_text(&response).contains("the organisation policy (version 1)"));
    drop(running);
    let s = org_status(&home);
    assert_eq!(s["version"], 1, "{s}");
    assert_eq!(s["expires"], "2099-01-01T00:00:00Z");
    assert_eq!(s["last_error"], Value::Null, "{s}");
    assert_eq!(s["key_id"].as_str().unwrap().len(), 16, "{s}");

    // The organisation's deny wins over the local allow, and says whose it is.
    let (response, stderr) = echo(&home);
    assert_eq!(response["result"]["isError"], true, "{response}");
    let why = common::tool_text(&response);
    assert!(why.contains("the organisation policy (version 1)"), "{why}");
    assert!(why.contains("echo is not approved by the security team"), "{why}");
    // The local `mode = "off"` is refused: the organisation requires the box.
    assert!(
        stderr.contains("mode = \"off\"` is refused: the organisation policy (version 1) requires at least `enforce`"),
        "{stderr}"
    );
    let events = home.wait_events("the refusal", |events| {
        events.iter().any(|e| e["tool"] == "echo" && e["verdict"] == "deny")
    });
    let refused = events.iter().find(|e| e["tool"] == "echo" && e["verdict"] == "deny").unwrap();
    assert_eq!(refused["decided_by"], "org:1:no-echo", "{refused}");

    // A tampered bundle (the deny dropped, the old signature kept) is refused.
    let tampered =
        bundle(2, "2099-01-01T00:00:00Z").replace("action = \"deny\"", "action = \"ask\"");
    files.put("/org/policy.toml", tampered.as_bytes());
    refresh_fails(&home, "signature does not match");

    // An expired bundle, properly signed, is refused too.
    let expired = bundle(3, "2026-02-01T00:00:00Z");
    files.put("/org/policy.toml", expired.as_bytes());
    files.put("/org/policy.toml.minisig", signer.sign(&expired).as_bytes());
    refresh_fails(&home, "expired on 2026-02-01T00:00:00Z");

    // Signed by another key: refused.
    let other = Signer::new();
    let v4 = bundle(4, "2099-01-01T00:00:00Z");
    files.put("/org/policy.toml", v4.as_bytes());
    files.put("/org/policy.toml.minisig", other.sign(&v4).as_bytes());
    refresh_fails(&home, "different key");

    // An unreachable source.
    files.files.lock().unwrap().clear();
    refresh_fails(&home, "404 Not Found");
    // `mcpfw status` says which version is in force, from where, and that the last refresh failed.
    let out = run(&home, &["status"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let source = files.url("/org/policy.toml");
    assert!(stdout.contains(&format!("organisation policy: version 1 from {source}")), "{stdout}");
    assert!(stdout.contains("the last refresh failed: "), "{stdout}");
    assert!(stdout.contains("404 Not Found (version 1 stays in force)"), "{stdout}");

    // Through all of it, version 1 is still enforced.
    let (response, _) = echo(&home);
    assert!(common::tool_text(&response).contains("the organisation policy (version 1)"));

    // The daemon fetches a new version when it starts, and its API shows it behind the guard.
    let v2 = bundle(2, "2099-01-01T00:00:00Z");
    files.put("/org/policy.toml", v2.as_bytes());
    files.put("/org/policy.toml.minisig", signer.sign(&v2).as_bytes());
    let daemon = Daemon::start(&home);
    let (status, body) = daemon.request("GET", "/api/v1/organisation", false, "");
    assert_eq!(status, 401, "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let shown = loop {
        let (status, body) = daemon.request("GET", "/api/v1/organisation", true, "");
        assert_eq!(status, 200, "{body}");
        let shown: Value = serde_json::from_str(&body).unwrap();
        if shown["version"] == 2 || Instant::now() > deadline {
            break shown;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(shown["version"], 2, "the daemon did not fetch version 2: {shown}");
    assert_eq!(shown["source"], files.url("/org/policy.toml"), "{shown}");
    // A setting beyond the organisation's bound is refused, naming it.
    let (status, body) =
        daemon.request("PUT", "/api/v1/settings", true, r#"{"approval_timeout_s": 600}"#);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("the organisation policy (version 2) allows at most 300 s"), "{body}");
    drop(daemon);

    // An older version than the one in force is refused (no rollback).
    files.put("/org/policy.toml", v1.as_bytes());
    files.put("/org/policy.toml.minisig", signer.sign(&v1).as_bytes());
    let out = run(&home, &["org", "refresh"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("has version 1, older than version 2"), "{stderr}");

    // An edited cache is not trusted (the signature is checked again at every start).
    let cache = home.path().join("data/organisation/cache.json");
    let text = std::fs::read_to_string(&cache).unwrap();
    std::fs::write(&cache, text.replace("action = \\\"deny\\\"", "action = \\\"ask\\\"")).unwrap();
    let s = org_status(&home);
    assert_eq!(s["version"], Value::Null, "{s}");
}

#[test]
fn the_systemd_user_unit_runs_the_daemon_and_verifies() {
    let home = Home::new();
    let config = tempfile::tempdir().unwrap();
    let out = Command::new(mcpfw())
        .args(["daemon", "--install-unit"])
        .env("MCPFW_HOME", home.path())
        .env("XDG_CONFIG_HOME", config.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let unit = config.path().join("systemd/user/mcpfw.service");
    let mut text = String::new();
    std::fs::File::open(&unit).unwrap().read_to_string(&mut text).unwrap();
    assert!(text.contains(&format!("\nExecStart={} daemon\n", mcpfw().display())), "{text}");
    assert!(text.contains(&format!("Environment=MCPFW_HOME={}", home.path().display())), "{text}");
    assert!(text.contains("\nWantedBy=default.target\n"), "{text}");
    let analyze = Command::new("systemd-analyze").arg("verify").arg(&unit).output();
    match analyze {
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() && stderr.trim().is_empty(), "systemd-analyze: {stderr}");
        }
        Err(e) => panic!(
            "systemd-analyze cannot run ({e}): install Debian's `systemd` (scripts/setup.sh does)"
        ),
    }
}
